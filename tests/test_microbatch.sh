#!/usr/bin/env bash
# test_microbatch.sh DITC ST_COMPARE — gradient accumulation and gradient checkpointing in the trainer:
#  1. one step with global batch 16 in micro-batches of 4 equals the single batch-16 step: weights after the
#     step (model, EMA) within 1e-5 relative, and the logged loss within 1e-5;
#  2. --grad-checkpoint (each block re-run in backward) gives bit-identical weights after 2 steps;
#  3. a micro-batch size that does not divide the batch is refused naming the flag.
set -u
DITC="$1"; CMP="$2"
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
export OMP_WAIT_POLICY=PASSIVE
fails=0; passes=0
check() { if [ "$1" = 0 ]; then passes=$((passes+1)); echo "[PASS] $2"; else fails=$((fails+1)); echo "[FAIL] $2"; fi; }
T=(--data-path synthetic --synthetic-size 64 --image-size 8 --model DiT-S/2 --depth 2 --hidden-size 64 --num-heads 4
   --patch-size 2 --global-batch-size 16 --log-every 1 --num-workers 0)
ck() { ls -d "$TMP/$1"/*/checkpoints/* | sort | tail -n 1; }
"$DITC" train "${T[@]}" --max-steps 3 --ckpt-every 1 --results-dir "$TMP/full" > "$TMP/full.log" 2>&1
check $? "batch 16 in one piece (3 steps)"
"$DITC" train "${T[@]}" --max-steps 3 --ckpt-every 1 --micro-batch-size 4 --results-dir "$TMP/micro" > "$TMP/micro.log" 2>&1
check $? "batch 16 in micro-batches of 4 (3 steps)"
# step 1 from the zero-initialised adaLN trains only final_layer.linear; by step 3 every parameter has moved
for s in 0000001 0000003; do
  for f in model ema; do
    "$CMP" "$(ls -d "$TMP"/full/*/checkpoints/$s)/$f.safetensors" "$(ls -d "$TMP"/micro/*/checkpoints/$s)/$f.safetensors" 1e-5 | sed 's/^/      /'
    check ${PIPESTATUS[0]} "micro-batches: $f weights after step ${s##*000} within 1e-5 of the single-batch run"
  done
done
l1=$(tail -n 1 "$(ls "$TMP"/full/*/metrics.csv)" | cut -d, -f3); l2=$(tail -n 1 "$(ls "$TMP"/micro/*/metrics.csv)" | cut -d, -f3)
awk -v a="$l1" -v b="$l2" 'BEGIN{d=a-b; if(d<0)d=-d; exit !(d <= 1e-5*a)}'
check $? "micro-batches: loss $l2 = $l1 within 1e-5"

"$DITC" train "${T[@]}" --max-steps 2 --ckpt-every 2 --results-dir "$TMP/plain" > "$TMP/plain.log" 2>&1
"$DITC" train "${T[@]}" --max-steps 2 --ckpt-every 2 --grad-checkpoint --results-dir "$TMP/ckpt" > "$TMP/ckpt.log" 2>&1
check $? "--grad-checkpoint: 2 steps"
cmp -s "$(ck plain)/model.safetensors" "$(ck ckpt)/model.safetensors" && cmp -s "$(ck plain)/optimizer.safetensors" "$(ck ckpt)/optimizer.safetensors"
check $? "--grad-checkpoint: weights and optimizer state bit-identical to the run without it"

"$DITC" train "${T[@]}" --max-steps 1 --micro-batch-size 5 --results-dir "$TMP/bad" > "$TMP/bad.log" 2>&1
rc=$?
[ $rc -ne 0 ] && [ $rc -lt 128 ] && grep -q -- "--micro-batch-size" "$TMP/bad.log"
check $? "--micro-batch-size 5 with batch 16 is refused: $(grep -m1 micro-batch "$TMP/bad.log" | cut -c1-100)"
echo "test_microbatch: $passes passed, $fails failed"
[ $fails -eq 0 ]
