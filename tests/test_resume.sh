#!/usr/bin/env bash
# test_resume.sh DITC SRC — resuming is bit-exact: N steps straight and the same N steps interrupted and
# resumed give the same per-step losses (metrics.csv with --log-every 1: step, epoch, loss, lr, grad_norm
# columns, byte for byte) and the same model, EMA and optimizer files at the end (cmp), plus the same
# step/epoch/step_in_epoch in state.json.
#  1. Fashion-MNIST (if present, else a small generated IDX set), DiT-S/4 with depth 2, hidden 64, 4 heads,
#     global batch 16: 20 steps straight vs 10 steps + `--resume latest` + 10 steps.
#  2. the synthetic set with 48 samples (3 steps per epoch, so the run crosses epochs and resumes
#     mid-epoch): 20 steps straight vs 10 + `--resume <checkpoint directory>` + 10, and vs
#     7 + `--resume <run directory>` + 6 + `--resume latest` + 7.
#  3. SophiaG (--optimizer sophiag --hessian-every 3 --micro-batch-size 8): 20 steps straight vs 10 + --resume
#     + 10, Hessian refreshes after steps 3, 6, 9 and 12, 15, 18 (optimizer.safetensors: exp_avg.*, hessian.*);
#     resuming it with --optimizer adamw is refused with one message.
source "$(dirname "$0")/test_lib.sh"

model=(--model DiT-S/4 --depth 2 --hidden-size 64 --num-heads 4 --global-batch-size 16 --log-every 1 --ckpt-every 10)

# train LABEL RESULTS_DIR [flags]: one `ditc train`, reporting a failure with its output.
train() {
    local label=$1 results=$2
    shift 2
    if run "$label" "$DITC" train --results-dir "$results" "$@"; then
        return 0
    fi
    fail "$label: ditc train exited non-zero"
    show "$label"
    return 1
}

# losses RUN_DIR: the step, epoch, loss, lr and grad_norm columns of metrics.csv (no header lines)
losses() { grep -v '^step,' "$1/metrics.csv" | cut -d, -f1,2,3,6,7; }

# same_run LABEL STRAIGHT_RUN_DIR RESUMED_RUN_DIR STEP: compares the logs and the checkpoint at STEP.
same_run() {
    local label=$1 a=$2 b=$3 step=$4 ok=0 f k
    if [ ! -d "$a" ] || [ ! -d "$b" ]; then
        fail "$label: run directory missing ($a, $b)"
        return
    fi
    local na nb
    na=$(losses "$a" | wc -l)
    nb=$(losses "$b" | wc -l)
    if [ "$na" -eq "$step" ] && [ "$nb" -eq "$step" ] && cmp -s <(losses "$a") <(losses "$b"); then
        pass "$label: $step per-step losses identical (steps 1..$step; step $step: $(losses "$b" | tail -n 1))"
    else
        fail "$label: per-step losses differ ($na vs $nb rows)"
        diff <(losses "$a") <(losses "$b") | head -n 10
    fi
    local ca=$a/checkpoints/$(printf %07d "$step") cb=$b/checkpoints/$(printf %07d "$step")
    for f in model ema optimizer; do
        if [ -f "$ca/$f.safetensors" ] && cmp -s "$ca/$f.safetensors" "$cb/$f.safetensors"; then
            :
        else
            ok=1
            echo "  $f.safetensors at step $step differs (or is missing): $(cmp "$ca/$f.safetensors" "$cb/$f.safetensors" 2>&1 | head -n 1)"
        fi
    done
    check $ok "$label: model, ema and optimizer .safetensors at step $step identical ($(wc -c <"$cb/model.safetensors") + $(wc -c <"$cb/ema.safetensors") + $(wc -c <"$cb/optimizer.safetensors") bytes)"
    ok=0
    for k in step epoch step_in_epoch global_seed; do
        local va vb
        va=$(grep "\"$k\":" "$ca/state.json")
        vb=$(grep "\"$k\":" "$cb/state.json")
        [ -n "$va" ] && [ "$va" = "$vb" ] || { ok=1; echo "  state.json $k: '$va' vs '$vb'"; }
    done
    check $ok "$label: state.json step/epoch/step_in_epoch/global_seed identical ($(tr -d ' \n' <"$cb/state.json" | grep -o '"epoch":"[0-9]*","step_in_epoch":"[0-9]*"'))"
}

# ---- 1. Fashion-MNIST, --resume latest ------------------------------------------------------------------
if [ -f "$FMNIST/train-images-idx3-ubyte.gz" ] || [ -f "$FMNIST/train-images-idx3-ubyte" ]; then
    data=$FMNIST
else
    data=$TMP/idx
    make_idx "$data" 512 28 10
    echo "(no Fashion-MNIST at $FMNIST: using a generated 512-image IDX set)"
fi
echo "== 1. $data: 20 steps straight vs 10 + --resume latest + 10"
common=(--data-path "$data" "${model[@]}" --global-seed 3)
if train straight1 "$TMP/s1" "${common[@]}" --max-steps 20 &&
    train part1a "$TMP/r1" "${common[@]}" --max-steps 10 &&
    train part1b "$TMP/r1" --resume latest --max-steps 20; then
    grep -q "resumed from .*checkpoints/0000010 at step 10" "$TMP/part1b.out"
    check $? "--resume latest found $(echo "$TMP"/r1/000-*/checkpoints/0000010) and continued at step 10"
    same_run "fashion, resume latest" "$(echo "$TMP"/s1/000-*)" "$(echo "$TMP"/r1/000-*)" 20
    # the straight run's checkpoint at 10 is also the interrupted run's last one
    c=0
    for f in model ema optimizer; do
        cmp -s "$(echo "$TMP"/s1/000-*)/checkpoints/0000010/$f.safetensors" "$(echo "$TMP"/r1/000-*)/checkpoints/0000010/$f.safetensors" || c=1
    done
    check $c "fashion: checkpoints at step 10 identical (--max-steps 10 vs 20 changes nothing before step 10)"
fi

# ---- 2. synthetic, crossing epochs: explicit checkpoint directory, run directory + latest ----------------
echo "== 2. synthetic (48 samples, 3 steps per epoch): 20 steps straight vs resumed runs"
common=(--data-path synthetic --synthetic-size 48 --image-size 16 --num-classes 10 "${model[@]}" --global-seed 8)
if train straight2 "$TMP/s2" "${common[@]}" --max-steps 20; then
    s2=$(echo "$TMP"/s2/000-*)
    # 2a: 10 steps, then --resume <checkpoint directory>
    if train part2a "$TMP/r2" "${common[@]}" --max-steps 10 &&
        train part2b "$TMP/elsewhere" --resume "$(echo "$TMP"/r2/000-*)/checkpoints/0000010" --max-steps 20; then
        same_run "synthetic, resume <checkpoint dir> at step 10 (epoch 3, 1 step in)" "$s2" "$(echo "$TMP"/r2/000-*)" 20
        [ ! -e "$TMP/elsewhere" ]
        check $? "the resumed run wrote into its own run directory, not into --results-dir"
    fi
    # 2b: 7 steps, --resume <run directory> to 13, --resume latest to 20 (not at checkpoint multiples)
    if train part3a "$TMP/r3" "${common[@]}" --max-steps 7 &&
        train part3b "$TMP/r3" --resume "$(echo "$TMP"/r3/000-*)" --max-steps 13 &&
        train part3c "$TMP/r3" --resume latest --max-steps 20; then
        grep -q "resumed from .*checkpoints/0000007 at step 7" "$TMP/part3b.out" &&
            grep -q "resumed from .*checkpoints/0000013 at step 13" "$TMP/part3c.out"
        check $? "--resume <run dir> picked checkpoint 7, then --resume latest picked checkpoint 13"
        same_run "synthetic, 7 + resume <run dir> 6 + resume latest 7" "$s2" "$(echo "$TMP"/r3/000-*)" 20
    fi
fi

# ---- 3. SophiaG ------------------------------------------------------------------------------------------
echo "== 3. SophiaG (k = 3, micro-batches of 8): 20 steps straight vs 10 + --resume + 10"
common=(--data-path synthetic --synthetic-size 48 --image-size 16 --num-classes 10 "${model[@]}" --global-seed 8
        --optimizer sophiag --hessian-every 3 --micro-batch-size 8)
if train straight4 "$TMP/s4" "${common[@]}" --max-steps 20 &&
    train part4a "$TMP/r4" "${common[@]}" --max-steps 10 &&
    train part4b "$TMP/r4" --resume latest --max-steps 20; then
    same_run "sophiag, resume latest at step 10" "$(echo "$TMP"/s4/000-*)" "$(echo "$TMP"/r4/000-*)" 20
    o=$(echo "$TMP"/r4/000-*)/checkpoints/0000020/optimizer.safetensors
    grep -aq '"hessian.final_layer.linear.weight"' "$o" && grep -aq '"optimizer":"sophiag"' "$o" && ! grep -aq exp_avg_sq "$o"
    check $? "sophiag optimizer.safetensors holds exp_avg.* and hessian.* (optimizer: sophiag in __metadata__)"
    run part4c "$DITC" train --resume latest --results-dir "$TMP/r4" --max-steps 22 --optimizer adamw
    rc=$?
    [ $rc -ne 0 ] && [ $rc -lt 128 ] && [ "$(wc -l <"$TMP/part4c.err")" -eq 1 ] && grep -q -- "--optimizer adamw" "$TMP/part4c.err"
    check $? "--resume of a SophiaG checkpoint with --optimizer adamw is refused: $(head -c 200 "$TMP/part4c.err")"
fi
finish
