#!/usr/bin/env bash
# test_bad_input.sh DITC SRC — every user mistake gets one clear message and a non-zero exit, never a crash:
# for each case, the exit status is 1..127 (not a signal), stderr is a short message (<= 2 lines) that
# names the file or flag at fault, with no "internal error" (a DITC_CHECK) and no sanitizer report; a
# failed `ditc train` leaves no run directory behind. Cases: missing data path, wrong IDX magic (images,
# labels, gzip), truncated/empty checkpoint files (sample and --resume), a missing state.json, unknown
# model, impossible batch sizes and image sizes, unknown flags, missing flag values, non-numeric values; the VAE
# (--vae): missing/unexpected/mis-shaped/mis-typed tensors, bad config.json values, missing directory or file.
source "$(dirname "$0")/test_lib.sh"

n_case=0
# expect_error LABEL "NEEDLE[|NEEDLE2...]" CMD...: CMD must fail cleanly with every needle in its stderr.
expect_error() {
    local label=$1 needles=$2 rc ok=1 why="" lines n
    shift 2
    n_case=$((n_case + 1))
    local name=case$n_case
    run "$name" "$@"
    rc=$?
    local err=$TMP/$name.err
    lines=$(wc -l <"$err")
    if [ "$rc" -eq 0 ]; then
        ok=0; why="exit status 0"
    elif [ "$rc" -ge 128 ]; then
        ok=0; why="exit status $rc (killed by signal $((rc - 128)): a crash)"
    elif grep -qE 'internal error|Sanitizer|runtime error:|Segmentation|Aborted|LeakSanitizer' "$err"; then
        ok=0; why="crash/internal error report in stderr"
    elif [ ! -s "$err" ]; then
        ok=0; why="no message on stderr"
    elif [ "$lines" -gt 2 ]; then
        ok=0; why="$lines lines on stderr (expected one message)"
    else
        IFS='|' read -r -a list <<<"$needles"
        for n in "${list[@]}"; do
            grep -qF -- "$n" "$err" || { ok=0; why="stderr does not mention '$n'"; }
        done
    fi
    if [ $ok -eq 1 ]; then
        pass "$label: exit $rc: $(head -n 1 "$err" | cut -c1-200)"
    else
        fail "$label: $why"
        echo "  command: $*"
        show "$name"
    fi
}
# no_run_dir DIR LABEL: a failed train must not leave a run directory in --results-dir
no_run_dir() {
    if [ -n "$(ls -A "$1" 2>/dev/null)" ]; then
        fail "$2: left $(ls "$1" | head -n 3 | tr '\n' ' ')in $1"
    fi
}

J=$TMP/junk   # --results-dir of the runs that must fail
small=(--model DiT-S/4 --depth 1 --hidden-size 32 --num-heads 2 --results-dir "$J")

# ---- data ----------------------------------------------------------------------------------------------
expect_error "missing --data-path directory" "/nonexistent/fmnist" "$DITC" train --data-path /nonexistent/fmnist "${small[@]}"
expect_error "no --data-path at all" "--data-path" "$DITC" train "${small[@]}"
printf '\x00\x00\x09\x03\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x02abcd' >"$TMP/bad-images-idx3-ubyte"
expect_error "wrong IDX magic (images file)" "magic|$TMP/bad-images-idx3-ubyte" \
    "$DITC" train --data-path "$TMP/bad-images-idx3-ubyte" "${small[@]}"
make_idx "$TMP/badlab" 40 8 10
printf '\x00\x00\x08\x07' | dd of="$TMP/badlab/train-labels-idx1-ubyte" bs=1 seek=0 conv=notrunc status=none
expect_error "wrong IDX magic (labels file of a directory)" "magic|train-labels-idx1-ubyte" \
    "$DITC" train --data-path "$TMP/badlab" "${small[@]}"
mkdir -p "$TMP/badgz"
cp "$TMP/bad-images-idx3-ubyte" "$TMP/badgz/train-images-idx3-ubyte"
gzip -n "$TMP/badgz/train-images-idx3-ubyte"
cp "$TMP/badlab/train-labels-idx1-ubyte" "$TMP/badgz/"
expect_error "wrong IDX magic (gzip images file)" "magic|train-images-idx3-ubyte.gz" \
    "$DITC" train --data-path "$TMP/badgz" "${small[@]}"
make_idx "$TMP/trunc" 40 8 10
truncate -s 500 "$TMP/trunc/train-images-idx3-ubyte"
expect_error "truncated IDX images file" "$TMP/trunc/train-images-idx3-ubyte" \
    "$DITC" train --data-path "$TMP/trunc" "${small[@]}"
no_run_dir "$J" "data errors"

# ---- model and batch -------------------------------------------------------------------------------------
make_idx "$TMP/idx" 40 8 10    # 40 images 1x8x8, 10 classes
expect_error "unknown model" "--model|DiT-Q/3" "$DITC" train --data-path synthetic --model DiT-Q/3 --results-dir "$J"
expect_error "--global-batch-size 0" "--global-batch-size" "$DITC" train --data-path "$TMP/idx" "${small[@]}" --global-batch-size 0
expect_error "--global-batch-size -8" "--global-batch-size" "$DITC" train --data-path "$TMP/idx" "${small[@]}" --global-batch-size -8
expect_error "batch larger than the data set (IDX, 40 images)" "--global-batch-size" \
    "$DITC" train --data-path "$TMP/idx" "${small[@]}" --global-batch-size 64
expect_error "batch larger than the data set (synthetic, 32)" "--global-batch-size" \
    "$DITC" train --data-path synthetic --synthetic-size 32 --image-size 8 "${small[@]}" --global-batch-size 64
expect_error "--image-size 30 with --patch-size 4 (synthetic)" "--image-size" \
    "$DITC" train --data-path synthetic --image-size 30 --patch-size 4 "${small[@]}"
expect_error "--image-size 30 with --patch-size 4 (IDX)" "--image-size" \
    "$DITC" train --data-path "$TMP/idx" --image-size 30 --patch-size 4 "${small[@]}"
expect_error "--num-heads not dividing --hidden-size" "--num-heads" \
    "$DITC" train --data-path "$TMP/idx" --model DiT-S/4 --depth 1 --hidden-size 32 --num-heads 5 --results-dir "$J"
expect_error "Large-DiT with an odd head width (RoPE needs pairs)" "--num-heads" \
    "$DITC" train --data-path "$TMP/idx" --model LDiT-600M --depth 1 --hidden-size 30 --num-heads 2 --results-dir "$J"
expect_error "an unknown model name lists the Large-DiT ones too" "LDiT-600M" \
    "$DITC" train --data-path "$TMP/idx" --model LDiT-1B --results-dir "$J"
expect_error "--lr 0" "--lr" "$DITC" train --data-path "$TMP/idx" "${small[@]}" --lr 0
# optimizer flags (SophiaG)
expect_error "--optimizer sgd" "--optimizer|sgd" "$DITC" train --data-path "$TMP/idx" "${small[@]}" --optimizer sgd
expect_error "--rho -0.01" "--rho" "$DITC" train --data-path "$TMP/idx" "${small[@]}" --optimizer sophiag --rho -0.01
expect_error "--hessian-every 0" "--hessian-every" "$DITC" train --data-path "$TMP/idx" "${small[@]}" --optimizer sophiag --hessian-every 0
expect_error "--beta1 1" "--beta1" "$DITC" train --data-path "$TMP/idx" "${small[@]}" --optimizer sophiag --beta1 1
expect_error "--beta2 -0.5" "--beta2" "$DITC" train --data-path "$TMP/idx" "${small[@]}" --beta2 -0.5
expect_error "--beta2 nan" "--beta2|nan" "$DITC" train --data-path "$TMP/idx" "${small[@]}" --beta2 nan
expect_error "--weight-decay -1" "--weight-decay" "$DITC" train --data-path "$TMP/idx" "${small[@]}" --weight-decay -1
# running on a cluster (docs/cluster.md)
expect_error "--checkpoint-on-signal KILL" "--checkpoint-on-signal|KILL" "$DITC" train --data-path "$TMP/idx" "${small[@]}" --checkpoint-on-signal TERM,KILL
expect_error "--keep-last -1" "--keep-last" "$DITC" train --data-path "$TMP/idx" "${small[@]}" --keep-last -1
expect_error "--skip-update-zscore -2" "--skip-update-zscore" "$DITC" train --data-path "$TMP/idx" "${small[@]}" --skip-update-zscore -2
expect_error "--grad-bucket-mb -1" "--grad-bucket-mb" "$DITC" train --data-path "$TMP/idx" "${small[@]}" --grad-bucket-mb -1
expect_error "--grad-bucket-mb x" "--grad-bucket-mb" "$DITC" train --data-path "$TMP/idx" "${small[@]}" --grad-bucket-mb x
expect_error "--skip-update-max 0" "--skip-update-max" "$DITC" train --data-path "$TMP/idx" "${small[@]}" --skip-update-max 0
no_run_dir "$J" "model/batch errors"

# ---- flags -------------------------------------------------------------------------------------------------
expect_error "unknown flag (train)" "--bogus-flag" "$DITC" train --data-path synthetic --bogus-flag 1
expect_error "unknown flag (sample)" "--bogus-flag" "$DITC" sample --ckpt x --bogus-flag
expect_error "unknown flag (check)" "--bogus-flag" "$DITC" check --bogus-flag
expect_error "missing value of the last flag (train --lr)" "--lr" "$DITC" train --data-path synthetic --lr
expect_error "missing value (sample --ckpt)" "--ckpt" "$DITC" sample --ckpt
expect_error "non-numeric --lr abc" "--lr|abc" "$DITC" train --data-path synthetic --lr abc
expect_error "non-integer --global-batch-size 1x" "--global-batch-size|1x" "$DITC" train --data-path synthetic --global-batch-size 1x
expect_error "non-integer --max-steps 2.5" "--max-steps" "$DITC" train --data-path synthetic --max-steps 2.5
expect_error "non-numeric sample --num-sampling-steps ten" "--num-sampling-steps" "$DITC" sample --ckpt x --num-sampling-steps ten
expect_error "unknown command" "frobnicate" "$DITC" frobnicate
no_run_dir "$J" "flag errors"

# ---- checkpoints -------------------------------------------------------------------------------------------
# a real checkpoint of a 1-channel model (pixel space, so `ditc sample` works without a VAE)
if run good_train "$DITC" train --data-path "$TMP/idx" --model DiT-S/4 --depth 1 --hidden-size 32 --num-heads 2 \
    --global-batch-size 8 --max-steps 2 --results-dir "$TMP/good"; then
    CK=$(echo "$TMP"/good/000-*/checkpoints/0000002)
    if run good_sample "$DITC" sample --ckpt "$CK" --num-sampling-steps 2 --per-class 1 --out "$TMP/ok.png"; then
        pass "control: ditc sample works on the intact checkpoint"
    else
        fail "control: ditc sample on the intact checkpoint"
        show good_sample
    fi
    # bad_ckpt NAME FILE MODE: a copy of the checkpoint with FILE damaged (MODE: header, data, empty, remove)
    bad_ckpt() {
        local d=$TMP/$1
        rm -rf "$d"
        cp -r "$CK" "$d"
        case $3 in
            header) truncate -s 100 "$d/$2" ;;
            data) truncate -s $(($(wc -c <"$d/$2") - 100)) "$d/$2" ;;
            empty) : >"$d/$2" ;;
            remove) rm -f "$d/$2" ;;
        esac
        echo "$d"
    }
    for mode in header data empty; do
        d=$(bad_ckpt "model-$mode" model.safetensors $mode)
        expect_error "sample --ckpt <model.safetensors $mode-truncated>" "$d/model.safetensors" \
            "$DITC" sample --ckpt "$d/model.safetensors" --num-sampling-steps 2 --out "$TMP/x.png"
        expect_error "sample --ckpt DIR --use-model (model.safetensors $mode-truncated)" "$d/model.safetensors" \
            "$DITC" sample --ckpt "$d" --use-model --num-sampling-steps 2 --out "$TMP/x.png"
        expect_error "train --resume DIR (model.safetensors $mode-truncated)" "$d/model.safetensors" \
            "$DITC" train --resume "$d" --max-steps 4
    done
    d=$(bad_ckpt ema-data ema.safetensors data)
    expect_error "sample --ckpt DIR (ema.safetensors truncated)" "$d/ema.safetensors" \
        "$DITC" sample --ckpt "$d" --num-sampling-steps 2 --out "$TMP/x.png"
    expect_error "train --resume DIR (ema.safetensors truncated)" "$d/ema.safetensors" "$DITC" train --resume "$d" --max-steps 4
    d=$(bad_ckpt opt-data optimizer.safetensors data)
    expect_error "train --resume DIR (optimizer.safetensors truncated)" "$d/optimizer.safetensors" \
        "$DITC" train --resume "$d" --max-steps 4
    d=$(bad_ckpt no-state state.json remove)   # then DIR is not a checkpoint (nor a run directory)
    expect_error "train --resume DIR (state.json missing)" "--resume|$d" "$DITC" train --resume "$d" --max-steps 4
    d=$(bad_ckpt bad-state state.json empty)
    echo '{"format": "ditc-train-state-1", "step": "two"' >"$d/state.json"
    expect_error "train --resume DIR (state.json corrupt)" "$d/state.json" "$DITC" train --resume "$d" --max-steps 4
    # resuming an AdamW checkpoint as SophiaG: one message naming both optimizers
    expect_error "train --resume DIR --optimizer sophiag (AdamW state)" "--optimizer sophiag|adamw" \
        "$DITC" train --resume "$CK" --max-steps 4 --optimizer sophiag
    expect_error "train --resume /nonexistent" "/nonexistent/ckpt" "$DITC" train --resume /nonexistent/ckpt
    mkdir -p "$TMP/empty-results"
    expect_error "train --resume latest with no runs" "--resume" "$DITC" train --resume latest --results-dir "$TMP/empty-results"
    expect_error "sample --ckpt /nonexistent" "/nonexistent/ckpt" "$DITC" sample --ckpt /nonexistent/ckpt
    printf 'not a safetensors file at all' >"$TMP/junk.safetensors"
    expect_error "inspect a non-safetensors file" "$TMP/junk.safetensors" "$DITC" inspect "$TMP/junk.safetensors"
    expect_error "check --inputs missing" "$TMP/no-inputs.safetensors" \
        "$DITC" check --ckpt "$CK/model.safetensors" --inputs "$TMP/no-inputs.safetensors" --out "$TMP/o.safetensors"
else
    fail "could not train the checkpoint for the checkpoint cases"
    show good_train
fi
# The VAE (--vae): broken weight files and configs from vae_reference.py make-bad (numpy only). The VAE is
# loaded before the image is read, so the image path does not matter here.
if "$PY" -c 'import numpy' >/dev/null 2>&1 && run vae_bad "$PY" "$REF/vae_reference.py" make-bad --out "$TMP/vae"; then
    V=$TMP/vae
    vae_check() { "$DITC" check --vae "$1" --image "$TMP/none.png" --out "$TMP/vae-out.safetensors"; }
    expect_error "check --vae: missing tensor" "$V/missing/diffusion_pytorch_model.safetensors|decoder.conv_out.bias" vae_check "$V/missing"
    expect_error "check --vae: mis-shaped tensor" "encoder.conv_in.weight|[32, 3, 3, 1]|[32, 3, 3, 3]" vae_check "$V/shape"
    expect_error "check --vae: mis-typed tensor" "quant_conv.bias|I32" vae_check "$V/dtype"
    expect_error "check --vae: unexpected tensor" "encoder.extra.weight" vae_check "$V/unexpected"
    expect_error "check --vae: config act_fn relu" "$V/act/config.json|act_fn" vae_check "$V/act"
    expect_error "check --vae: config does not match the weights" "encoder.down_blocks.1.resnets.0.conv1.weight" vae_check "$V/mismatch"
    echo '{"block_out_channels": [32, "x"]}' >"$V/act/config.json"
    expect_error "check --vae: config value of the wrong type" "$V/act/config.json|block_out_channels" vae_check "$V/act"
    expect_error "check --vae: missing directory" "--vae|/nonexistent/vae" vae_check /nonexistent/vae
    mkdir -p "$TMP/vae-empty"
    expect_error "check --vae: directory without weights" "$TMP/vae-empty|diffusion_pytorch_model.safetensors" vae_check "$TMP/vae-empty"
    expect_error "check --vae: image missing" "$TMP/none.png" vae_check "$V/good"
    expect_error "train --vae: missing directory" "--vae|/nonexistent/vae" "$DITC" train --data-path synthetic --vae /nonexistent/vae --results-dir "$TMP/vae-results" --max-steps 1
else
    fail "vae_reference.py make-bad (numpy) for the VAE cases"
fi
finish
