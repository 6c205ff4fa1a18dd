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

# `ditc bench --profile` (core/device/profile_backend.c): the step on a timing view of the backend gives the same loss,
# and a per-kernel table whose entries add up to its total, within the step's time; the GEMM shapes with the bias
# epilogue; on cpu and cpu-guard (the timer entries forwarded)
BENCH=(bench --model DiT-S/2 --depth 2 --hidden-size 64 --num-heads 4 --image-size 8 --batch 4 --steps 2 --warmup 1)
for dev in cpu cpu-guard; do
    "$DITC" "${BENCH[@]}" --device $dev >"$TMP/b.$dev" 2>&1 && "$DITC" "${BENCH[@]}" --device $dev --profile >"$TMP/bp.$dev" 2>&1
    check $? "bench --profile on $dev runs"
    cmp -s <(grep -o 'last loss.*' "$TMP/b.$dev") <(grep -o 'last loss.*' "$TMP/bp.$dev")
    check $? "bench --profile on $dev: the same loss as without ($(grep -o 'last loss.*' "$TMP/bp.$dev"))"
    awk '/per-kernel time per step/ { on = 1; next } on && $1 == "total" { tot = $2; pct = $5 + 0; on = 0; next }
         on && $3 == "ms" { sum += $2; n++; if ($1 == "gemm" || $1 == "adamw" || $1 == "ln_mod_fwd") seen++ }
         /\+bias +[0-9]/ { bias++ }
         END { d = sum - tot; if (d < 0) d = -d; exit !(n >= 10 && seen == 3 && d <= 0.002 * n + 1e-6 && pct > 30 && pct <= 101 && bias >= 1) }' \
        "$TMP/bp.$dev"
    check $? "bench --profile on $dev: entries add up to the total, $(grep -o '= [0-9.]*% of the [0-9.]* ms step' "$TMP/bp.$dev"), bias-epilogue GEMM shapes listed"
    # without warm-up steps the table counts the timed step only, not the set-up's calls (the same calls per step)
    "$DITC" "${BENCH[@]:0:${#BENCH[@]}-2}" --warmup 0 --device $dev --profile >"$TMP/bp0.$dev" 2>&1
    calls() { awk '/per-kernel time per step/ { on = 1; next } on && $1 == "total" { on = 0 } on && $3 == "ms" { print $1, $(NF - 1) }' "$1" | sort; }
    cmp -s <(calls "$TMP/bp.$dev") <(calls "$TMP/bp0.$dev")
    check $? "bench --profile --warmup 0 on $dev: the same calls per step as after a warm-up step"
done

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
