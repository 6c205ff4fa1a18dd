# test_gpu_train.sh — CPU vs CUDA end to end (label gpu): `ditc check` outputs, gradients and 2 AdamW steps within
# 1e-4 relative (per tensor, st_compare), then 50 training steps whose logged losses agree within 1e-3 relative,
# in fp32; the same 50 steps in bf16 must stay within 5e-2 of the fp32 losses. Exit 77 without a usable GPU.
# usage: bash tests/test_gpu_train.sh DITC SOURCE_DIR ST_COMPARE
. "$(dirname "$0")/test_lib.sh"
STC=${3:?usage: bash $0 DITC SOURCE_DIR ST_COMPARE}
if ! "$DITC" bench --device cuda --steps 1 --warmup 0 --depth 1 --hidden-size 64 --num-heads 1 --batch 1 \
    --gemm-size 64 >"$TMP/probe.out" 2>"$TMP/probe.err"; then
    echo "SKIP $TEST_NAME: $(head -1 "$TMP/probe.err")"
    exit 77
fi
TINY=(--data-path synthetic --num-classes 10 --image-size 16 --global-batch-size 8 --num-workers 0 --log-every 1
      --model DiT-S/2 --depth 2 --hidden-size 128 --num-heads 2 --max-grad-norm 1.0)
run w "$DITC" train "${TINY[@]}" --max-steps 1 --results-dir "$TMP/w" || fail "weights: $(tail -1 "$TMP/w.err")"
W=$TMP/w/000-custom/checkpoints/0000001/model.safetensors
"$PY" "$SRC/tests/make_check_inputs.py" "$TMP/in.safetensors" 4 4 16 10 3
for dev in cpu cuda; do
    run "check.$dev" "$DITC" check --device $dev --ckpt "$W" --inputs "$TMP/in.safetensors" --num-heads 2 --grads \
        --train-steps 2 --out "$TMP/check.$dev.safetensors" || fail "check on $dev: $(tail -1 "$TMP/check.$dev.err")"
done
"$STC" "$TMP/check.cpu.safetensors" "$TMP/check.cuda.safetensors" 1e-4 >"$TMP/cmp.out" 2>&1
check $? "ditc check outputs, grads, 2 AdamW steps: CPU vs CUDA within 1e-4 ($(tail -1 "$TMP/cmp.out"))"

losses() { grep -o 'Train Loss: [0-9.e+-]*' "$1" | awk '{print $3}'; }
for run_ in cpu:fp32 cuda:fp32 cuda:bf16; do
    dev=${run_%:*} prec=${run_#*:}
    run "t.$dev.$prec" "$DITC" train "${TINY[@]}" --device $dev --precision $prec --max-steps 50 \
        --results-dir "$TMP/t.$dev.$prec" || fail "train on $dev/$prec: $(tail -1 "$TMP/t.$dev.$prec.err")"
    losses "$TMP/t.$dev.$prec.err" >"$TMP/l.$dev.$prec"
    [ -s "$TMP/l.$dev.$prec" ] || losses "$TMP/t.$dev.$prec.out" >"$TMP/l.$dev.$prec"
done
cmp_losses() { # cmp_losses A B RTOL LABEL
    local worst
    worst=$(paste "$1" "$2" | awk -v n=0 '{d=$1-$2; if (d<0) d=-d; r=d/($1>0?$1:-$1); if (r>w) w=r; n++} END {if (n!=50) print "count " n; else print w+0}')
    if [ "${worst#count}" != "$worst" ]; then fail "$4: $worst losses (expected 50)"; return; fi
    awk -v w="$worst" -v t="$3" 'BEGIN {exit !(w <= t)}'
    check $? "$4: worst relative difference $worst (limit $3)"
}
cmp_losses "$TMP/l.cpu.fp32" "$TMP/l.cuda.fp32" 1e-3 "50 steps fp32 losses CPU vs CUDA"
cmp_losses "$TMP/l.cuda.fp32" "$TMP/l.cuda.bf16" 5e-2 "50 steps bf16 vs fp32 losses on CUDA"
echo "$TEST_NAME: $NPASS passed, $NFAIL failed"
[ "$NFAIL" -eq 0 ]
