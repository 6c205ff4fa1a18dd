# test_device_paths.sh — the core's device code paths without a GPU: `--device cpu-guard` runs the CPU kernels
# behind memory the core cannot touch (host_memory = 0, PROT_NONE pages outside the backend's own entries),
# so any direct host access to tensor data faults. Train (DiT with grad checkpointing, micro-batches and
# clipping; Large-DiT), resume, check (outputs, grads, AdamW steps) and sample must run through it and give
# bytes identical to --device cpu. Also: --device/--precision errors name the flag.
. "$(dirname "$0")/test_lib.sh"
[ -d "$FMNIST" ] || { echo "SKIP $TEST_NAME: $FMNIST is absent"; exit 77; }
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
TINY=(--data-path synthetic --num-classes 10 --image-size 8 --global-batch-size 8 --num-workers 0 --log-every 1)
same_files() { # same_files LABEL DIR_A DIR_B FILE...
    local label=$1 a=$2 b=$3 ok=0
    shift 3
    for f in "$@"; do cmp -s "$a/$f" "$b/$f" || { ok=1; echo "  $label: $f differs"; }; done
    check $ok "$label: identical bytes on --device cpu and cpu-guard"
}
for dev in cpu cpu-guard; do
    run "dit.$dev" "$DITC" train --device $dev "${TINY[@]}" --model DiT-S/2 --depth 2 --hidden-size 64 --num-heads 4 \
        --max-steps 3 --grad-checkpoint --micro-batch-size 4 --max-grad-norm 1.0 --results-dir "$TMP/dit.$dev" ||
        fail "train DiT on $dev: $(tail -2 "$TMP/dit.$dev.err")"
    run "res.$dev" "$DITC" train --resume "$TMP/dit.$dev/000-custom" --max-steps 5 --device $dev ||
        fail "resume on $dev: $(tail -2 "$TMP/res.$dev.err")"
    run "ldit.$dev" "$DITC" train --device $dev "${TINY[@]}" --model LDiT-600M --depth 2 --hidden-size 64 --num-heads 4 \
        --max-steps 3 --results-dir "$TMP/ldit.$dev" || fail "train LDiT on $dev: $(tail -2 "$TMP/ldit.$dev.err")"
done
CK=000-custom/checkpoints
same_files "DiT train+resume" "$TMP/dit.cpu/$CK/0000005" "$TMP/dit.cpu-guard/$CK/0000005" model.safetensors \
    ema.safetensors optimizer.safetensors
same_files "LDiT train" "$TMP/ldit.cpu/$CK/0000003" "$TMP/ldit.cpu-guard/$CK/0000003" model.safetensors ema.safetensors

# a pixel-space (1-channel) model, so that `ditc sample` needs no VAE
run pix "$DITC" train --data-path "$FMNIST" --model DiT-S/4 --depth 1 --hidden-size 32 --num-heads 2 \
    --global-batch-size 8 --max-steps 2 --num-workers 0 --results-dir "$TMP/pix" || fail "train on $FMNIST"
PIX=$TMP/pix/$CK/0000002
"$PY" "$SRC/tests/make_check_inputs.py" "$TMP/in.safetensors" 4 4 8 10 1 || fail "make_check_inputs.py"
for dev in cpu cpu-guard; do
    run "check.$dev" "$DITC" check --device $dev --ckpt "$TMP/dit.cpu/$CK/0000005/model.safetensors" \
        --inputs "$TMP/in.safetensors" --out "$TMP/check.$dev.safetensors" --grads --train-steps 2 --num-heads 4 ||
        fail "check on $dev: $(tail -2 "$TMP/check.$dev.err")"
    run "sample.$dev" "$DITC" sample --device $dev --ckpt "$PIX" --class-labels 1,2 \
        --num-sampling-steps 4 --out "$TMP/sample.$dev.png" || fail "sample on $dev: $(tail -2 "$TMP/sample.$dev.err")"
done


cmp -s "$TMP/check.cpu.safetensors" "$TMP/check.cpu-guard.safetensors"
check $? "check: identical output file on cpu and cpu-guard"
cmp -s "$TMP/sample.cpu.png" "$TMP/sample.cpu-guard.png"
check $? "sample: identical PNG on cpu and cpu-guard"

# flag errors: one line naming the flag (and the backend)
"$DITC" bench --precision tf32 --steps 1 --warmup 0 >/dev/null 2>"$TMP/p.err"
[ $? -ne 0 ] && grep -q -- "--precision tf32: the cpu backend" "$TMP/p.err"
check $? "--precision tf32 on cpu: clear error ($(head -1 "$TMP/p.err"))"
"$DITC" bench --device tpu --steps 1 --warmup 0 >/dev/null 2>"$TMP/d.err"
[ $? -ne 0 ] && grep -q -- "--device 'tpu'" "$TMP/d.err"
check $? "--device tpu: clear error ($(head -1 "$TMP/d.err"))"
"$DITC" bench --device cuda:0 --steps 1 --warmup 0 >/dev/null 2>"$TMP/c.err"
[ $? -ne 0 ] && grep -q -- "--device cuda:0" "$TMP/c.err"
check $? "--device cuda:0 without a usable GPU/CUDA build: clear error ($(head -1 "$TMP/c.err"))"

echo "$TEST_NAME: $NPASS passed, $NFAIL failed"
[ "$NFAIL" -eq 0 ]
