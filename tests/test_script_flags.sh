#!/usr/bin/env bash
# test_script_flags.sh DITC SRC — the PyTorch DiT scripts' command lines mean what ditc's own flags mean: each
# seed-style command line (DeepSpeed DiT, OpenDiT, Large-DiT spellings, --foo_bar, --flag=value) trains the tiny
# synthetic model to checkpoints identical (cmp model/ema/optimizer .safetensors, state.json's step) to the
# native command line's; the value-mapping ones (--batch_size per process, --plugin zero2|ddp, --load) too; the
# reference's --vae ema|mse gets one message saying to pass the local folder; --help lists the aliases.
source "$(dirname "$0")/test_lib.sh"

base=(--model DiT-S/4 --depth 2 --hidden-size 64 --num-heads 4 --data-path synthetic --synthetic-size 64
      --num-workers 0 --no-tensorboard --log-every 1)

# same_ckpt LABEL DIR_A DIR_B STEP: the two runs' checkpoints at STEP are identical.
same_ckpt() {
    local label=$1 a b f ok=0
    a=$(echo "$2"/000-*/checkpoints/"$(printf %07d "$4")")
    b=$(echo "$3"/000-*/checkpoints/"$(printf %07d "$4")")
    for f in model ema optimizer; do
        cmp -s "$a/$f.safetensors" "$b/$f.safetensors" || { ok=1; echo "  $f.safetensors differs ($a, $b)"; }
    done
    [ "$(grep -o '"step": *"[0-9]*"' "$a/state.json" 2>/dev/null)" = "$(grep -o '"step": *"[0-9]*"' "$b/state.json" 2>/dev/null)" ] &&
        [ -f "$a/state.json" ] || { ok=1; echo "  state.json's step differs or is missing"; }
    check $ok "$label"
}

# pair LABEL STEP "NATIVE FLAGS" "SCRIPT FLAGS": both command lines from scratch, then same_ckpt.
pair() {
    local label=$1 step=$2 i=$((++NPAIR))
    # shellcheck disable=SC2086
    run "n$i" "$DITC" train "${base[@]}" --results-dir "$TMP/n$i" $3 || { fail "$label: native run"; show "n$i"; return; }
    # shellcheck disable=SC2086
    run "s$i" "$DITC" train "${base[@]}" --results-dir "$TMP/s$i" $4 || { fail "$label: script run"; show "s$i"; return; }
    same_ckpt "$label" "$TMP/n$i" "$TMP/s$i" "$step"
}
NPAIR=0

pair "DeepSpeed DiT: --train_batch_size 8 --local_rank=0 = --global-batch-size 8" 3 \
    "--global-batch-size 8 --image-size 16 --num-classes 10 --max-steps 3" \
    "--train_batch_size 8 --local_rank=0 --image-size 16 --num-classes 10 --max-steps 3"
pair "DeepSpeed DiT: --local-rank 0 (a device index only with --device cuda) is accepted" 2 \
    "--global-batch-size 8 --image-size 16 --num-classes 10 --max-steps 2" \
    "--global-batch-size 8 --image-size 16 --num-classes 10 --max-steps 2 --local-rank 0"
pair "OpenDiT: --batch_size 8 --num_classes 10 --image_size 16 --grad_checkpoint --plugin zero2 = --global-batch-size 8 (1 process) --grad-checkpoint --zero 2" 3 \
    "--global-batch-size 8 --image-size 16 --num-classes 10 --grad-checkpoint --zero 2 --max-steps 3" \
    "--batch_size 8 --image_size 16 --num_classes 10 --grad_checkpoint --plugin zero2 --max-steps 3"
pair "OpenDiT: --plugin ddp = --zero 0, --mixed_precision fp32 = --precision fp32" 3 \
    "--global-batch-size 8 --image-size 16 --num-classes 10 --max-steps 3 --zero 0 --precision fp32" \
    "--batch_size 8 --image_size 16 --num_classes 10 --max-steps 3 --plugin ddp --mixed_precision fp32"
pair "Large-DiT: --micro_batch_size 4 --global_batch_size 8 --precision fp32 = --micro-batch-size 4" 3 \
    "--global-batch-size 8 --micro-batch-size 4 --image-size 16 --num-classes 10 --max-steps 3" \
    "--global_batch_size 8 --micro_batch_size 4 --precision fp32 --image_size 16 --num_classes 10 --max-steps 3"
pair "every --foo-bar as --foo_bar and --flag=value: --max_steps=3 --hidden_size=64 --global-seed=5 --ema_decay 0.99" 3 \
    "--global-batch-size 8 --image-size 16 --num-classes 10 --max-steps 3 --global-seed 5 --ema-decay 0.99" \
    "--global_batch_size=8 --image_size=16 --num_classes=10 --max_steps=3 --hidden_size=64 --global_seed=5 --ema_decay 0.99"

# OpenDiT's --load DIR = --resume DIR: 3 steps, then both resume the same checkpoint to step 5
if run l0 "$DITC" train "${base[@]}" --results-dir "$TMP/l0" --global-batch-size 8 --image-size 16 --num-classes 10 \
    --max-steps 3; then
    CK=$(echo "$TMP"/l0/000-*/checkpoints/0000003)
    cp -r "$TMP/l0" "$TMP/l1"
    CK1=$(echo "$TMP"/l1/000-*/checkpoints/0000003)
    run l2 "$DITC" train --resume "$CK" --max-steps 5 && run l3 "$DITC" train --load "$CK1" --max_steps 5
    check $? "--load DIR and --resume DIR both run" || { show l2; show l3; }
    a=$(echo "$TMP"/l0/000-*/checkpoints/0000005) b=$(echo "$TMP"/l1/000-*/checkpoints/0000005) ok=0
    for f in model ema optimizer; do cmp -s "$a/$f.safetensors" "$b/$f.safetensors" || ok=1; done
    check $ok "OpenDiT: --load DIR = --resume DIR (identical step-5 checkpoints)"
    # the saved arguments of a --load run do not resume twice: its own checkpoint resumes again
    run l4 "$DITC" train --load "$b" --max-steps 6
    check $? "a run started with --load resumes again from its own checkpoint"
else
    fail "--load: the first run"
    show l0
fi

# the same errors: --vae-path = --vae, --mixed_precision tf32 = --precision tf32 (cpu: fp32, or bf16 emulated)
run e1 "$DITC" train "${base[@]}" --results-dir "$TMP/e" --vae "$TMP/no-vae" --max-steps 1
run e2 "$DITC" train "${base[@]}" --results-dir "$TMP/e" --vae-path "$TMP/no-vae" --max-steps 1
[ -s "$TMP/e1.err" ] && cmp -s "$TMP/e1.err" "$TMP/e2.err"
check $? "DeepSpeed DiT: --vae-path X = --vae X (the same message: $(head -c 120 "$TMP/e1.err"))"
run e3 "$DITC" train "${base[@]}" --results-dir "$TMP/e" --precision tf32 --max-steps 1
run e4 "$DITC" train "${base[@]}" --results-dir "$TMP/e" --mixed_precision tf32 --max-steps 1
[ -s "$TMP/e3.err" ] && cmp -s "$TMP/e3.err" "$TMP/e4.err"
check $? "OpenDiT: --mixed_precision tf32 = --precision tf32 (the same message: $(head -c 120 "$TMP/e3.err"))"
for v in ema mse; do
    (cd "$TMP" && "$DITC" train "${base[@]}" --results-dir "$TMP/e" --vae $v --max-steps 1) >"$TMP/v.out" 2>"$TMP/v.err"
    rc=$?
    [ $rc -ne 0 ] && [ $rc -lt 128 ] && [ "$(wc -l <"$TMP/v.err")" -eq 1 ] && grep -q "sd-vae-ft-$v" "$TMP/v.err"
    check $? "the reference's --vae $v (a hub name): one message: $(head -c 200 "$TMP/v.err")"
done
run p1 "$DITC" train "${base[@]}" --results-dir "$TMP/e" --plugin zero3 --max-steps 1
[ $? -ne 0 ] && grep -q -- "--plugin" "$TMP/p1.err"
check $? "--plugin zero3 is refused naming the flag"
[ ! -d "$TMP/e" ] || [ -z "$(ls -A "$TMP/e")" ]
check $? "no run directory from the refused command lines"

run h "$DITC" train --help
for a in --vae-path --train_batch_size --local_rank --batch_size --num_classes --image_size --mixed_precision \
    --grad_checkpoint --load --micro_batch_size --plugin; do
    grep -q -- "$a " "$TMP/h.out" || { fail "train --help lists $a"; continue; }
done
grep -q "aliases" "$TMP/h.out" && grep -q "foo_bar" "$TMP/h.out"
check $? "train --help lists the aliases and the --foo_bar rule"
finish
