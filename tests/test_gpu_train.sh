# test_gpu_train.sh — CPU vs CUDA end to end (ctest label gpu). Exit 77 without a usable GPU.
# usage: bash tests/test_gpu_train.sh DITC SOURCE_DIR ST_COMPARE
#
# Stages, most valuable first (DITC_GPU_TRAIN_ONLY="check train ..." runs a subset); each line PASS/FAIL with the
# measured worst error next to its limit:
#   check   `ditc check` (outputs, x_t, mse/vb/loss, every gradient, 2 AdamW steps: losses and every parameter) of
#           DiT-S/2 (depth 12, D 384, 6 heads of 64) and of an XL/2-width config (D 1152, 16 heads of 72, depth 2)
#           at T 256: CUDA fp32 vs CPU ≤ 1e-4 relative per tensor (st_compare); DiT-S/2 in tf32 ≤ 1e-2 and bf16
#           ≤ 5e-2 per tensor, and bf16 against the CPU's bf16 emulation (`--device cpu --precision bf16`: the same
#           bf16-rounded GEMM operands, F32 sums) ≤ 1e-2, also with DITC_ATTN=flash on both and with
#           DITC_GELU_RECOMPUTE=1 on the device; the parameters after
#           the AdamW steps at tf32 ≤ 6e-2, bf16 ≤ 1e-1 (≤ 3e-2 against the CPU's bf16) — Adam's sign-sized first
#           updates (stated limits, from the CPU emulation of the device at these sizes; the worst tensor is printed);
#   train   50 training steps of a small DiT: logged losses CUDA fp32 vs CPU ≤ 1e-3 relative, CUDA tf32 vs fp32
#           ≤ 1e-2, bf16 vs fp32 ≤ 5e-2, bf16 vs the CPU's bf16 emulation ≤ 2e-2 (worst step printed);
#   memory  on the GPU: --grad-checkpoint gives bit-identical weights and optimizer state; batch 16 in
#           micro-batches of 4 equals the single batch within 1e-5 (weights, loss);
#   ldit    `ditc check` of a Large-DiT (LDiT-600M width, depth 2, 32 heads of 48, QK-norm, SwiGLU) CUDA vs CPU ≤ 1e-4;
#   resume  on the GPU: 6 steps straight = 3 + --resume latest + 3, bit for bit (losses, model, EMA, optimizer);
#   sample  `ditc sample --device cuda` vs the CPU sampler (a 1-channel model trained 5 steps on the CPU; DDIM and
#           DDPM, 10 steps, guidance 4, one sample per class): PNG grids equal or
#           (with python3 + Pillow + numpy) at most 2 grey levels apart on at most 0.5% of the pixels;
#   mpi     `mpirun -np 2 ditc train --device cuda` on one GPU (two ranks share it: MPI staging through host
#           memory) equals -np 1 within 1e-5 (losses, EMA); skipped with a note without mpirun or an MPI build;
#   nccl    `--comm nccl` with a GPU per rank (comm/comm_nccl.cu: device buffers, buckets on a side stream, ZeRO-2
#           groups): -np 2, -np 2 --zero 2, -np 2 with 0.01 MiB buckets, -np 3 --zero 2 (uneven shards) each equal
#           -np 1 within 1e-5 (losses, EMA); skipped with NCCL's or ditc's reason where the ranks cannot have a GPU
#           each (one GPU; a build without -DDITC_NCCL=ON). The CPU emulation runs it with CUEMU_DEVICES=3. Also:
#           a GPU made visible to each rank alone (CUDA_VISIBLE_DEVICES per rank) still gets NCCL with --comm auto;
#           on the emulation, an injected NCCL asynchronous error stops both ranks (the watchdog).
# The check stage's tf32/bf16 runs must also keep every GEMM epilogue on cuBLASLt (no "no algorithm" fallback).
#
# DITC_GPU_SMALL=1 keeps the device (cuda) but takes the self-check's small models: the ctest of a build for the
# CPU emulation of the device (-DDITC_CUDA_EMU=ON, tests/cuda_emu/), where real sizes would take hours.
# DITC_GPU_DEVICE=cpu-guard (or cpu) runs the same script with that device in place of cuda and small models: a
# self-check of this script without a GPU (every comparison must then hold; tf32 is skipped, bf16 is the CPU's
# emulation on both sides).
# DITC_GPU_CHECK_PRECISIONS (default "fp32 tf32 bf16"; without CUDA "fp32 bf16") the check stage's precisions (bf16
# brings the variants' checks: DITC_GPU_CHECK_VARIANTS, default "flash gelu_recompute"). DITC_GPU_STEP_TIMEOUT (default 300 s) bounds every ditc run. DITC_TEST_PYTHON: the Python
# of the PNG comparison.
. "$(dirname "$0")/test_lib.sh"
STC=${3:?usage: bash $0 DITC SOURCE_DIR ST_COMPARE}
DEV=${DITC_GPU_DEVICE:-cuda}
ONLY=${DITC_GPU_TRAIN_ONLY:-check train memory ldit resume sample mpi nccl}
TO=${DITC_GPU_STEP_TIMEOUT:-300}
CUDA=0
case $DEV in cuda | cuda:*) CUDA=1 ;; esac
if [ $CUDA = 1 ]; then
    if ! "$DITC" bench --device "$DEV" --steps 1 --warmup 0 --depth 1 --hidden-size 64 --num-heads 1 --batch 1 \
        --gemm-size 64 >"$TMP/probe.out" 2>"$TMP/probe.err"; then
        echo "SKIP $TEST_NAME: $(head -1 "$TMP/probe.err")"
        exit 77
    fi
    echo "device: $(grep -m1 -iE 'device|cuda' "$TMP/probe.out" | cut -c1-120)"
else
    echo "self-check: device $DEV in place of cuda, small models"
fi
want() { [[ " $ONLY " == *" $1 "* ]]; }
# Python with the machine's own library path (gpu_session.sh puts its kit's libraries in front for ditc)
py() { env LD_LIBRARY_PATH="${DITC_BASE_LD_LIBRARY_PATH-${LD_LIBRARY_PATH-}}" "$PY" "$@"; }
# d NAME CMD...: a ditc run under the step timeout, output to $TMP/NAME.out/.err; fails the check on a non-zero exit
d() {
    local name=$1
    shift
    # (--foreground: in the caller's process group, so a stage timeout around this script reaches it too)
    if ! timeout --foreground "$TO" "$DITC" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"; then
        fail "$name: ditc $1 exited non-zero: $(tail -n 3 "$TMP/$name.err" | tr "\n" " ")"
        return 1
    fi
}
# stc LABEL A B RTOL [PREFIX=RTOL...]: st_compare, the worst tensor in the message
stc() {
    "$STC" "$2" "$3" "$4" "${@:5}" >"$TMP/stc.out" 2>&1
    check $? "$1: $(tail -n 1 "$TMP/stc.out")"
}
run_dir() { ls -d "$1"/*/ 2>/dev/null | head -n 1; }
last_ckpt() { ls -d "$1"/*/checkpoints/* 2>/dev/null | sort | tail -n 1; }
losses() { tail -n +2 "$(run_dir "$1")metrics.csv" | cut -d, -f3; }
# cmp_losses A_DIR B_DIR N RTOL LABEL: the N logged losses of two runs, worst relative difference
cmp_losses() {
    local worst
    worst=$(paste <(losses "$1") <(losses "$2") | awk -v n=0 '{d=$1-$2; if (d<0) d=-d; r=d/($1>0?$1:-$1); if (r>w) {w=r; s=NR}; n++}
        END {if (n==0) print "none"; else printf "%d %.3g %d\n", n, w+0, s}')
    read -r n w s <<<"$worst"
    if [ "$n" != "$3" ]; then fail "$5: $n losses (expected $3)"; return; fi
    awk -v w="$w" -v t="$4" 'BEGIN {exit !(w <= t)}'
    check $? "$5: worst relative difference $w at step $s (limit $4)"
}

# ---- model configs (small ones for the self-check, and with DITC_GPU_SMALL=1: the CPU emulation of the device) -----
if [ $CUDA = 1 ] && [ -z "${DITC_GPU_SMALL:-}" ]; then
    S2=(--model DiT-S/2 --image-size 32)                       # D 384, 6 heads of 64, T 256
    HD72=(--model DiT-XL/2 --depth 2 --image-size 32)          # D 1152, 16 heads of 72, T 256
    LDIT=(--model LDiT-600M --depth 2 --image-size 32)         # D 1536, 32 heads of 48
    TINY=(--model DiT-S/2 --depth 2 --hidden-size 128 --num-heads 2 --image-size 16)
    CHECK_B=4
else
    S2=(--model DiT-S/2 --depth 2 --hidden-size 64 --num-heads 2 --image-size 8)
    HD72=(--model DiT-S/2 --depth 1 --hidden-size 144 --num-heads 2 --image-size 8)
    LDIT=(--model LDiT-600M --depth 1 --hidden-size 64 --num-heads 4 --image-size 8)
    TINY=(--model DiT-S/2 --depth 1 --hidden-size 32 --num-heads 2 --image-size 8)
    CHECK_B=2
fi
DATA=(--data-path synthetic --synthetic-size 64 --num-classes 10 --num-workers 0)
heads_of() { # the --num-heads of a config (the named model's when not given)
    local a=("$@") i
    for ((i = 0; i < ${#a[@]}; i++)); do [ "${a[i]}" = --num-heads ] && { echo "${a[i + 1]}"; return; }; done
    case " $* " in *" DiT-S/2 "*) echo 6 ;; *" DiT-XL/2 "*) echo 16 ;; *LDiT*) echo 32 ;; esac
}
side_of() { local a=("$@") i; for ((i = 0; i < ${#a[@]}; i++)); do [ "${a[i]}" = --image-size ] && echo "${a[i + 1]}"; done; }

# weights NAME CONFIG...: 2 CPU steps at lr 1e-3 from the init (the adaLN gates become non-zero, so every block
# parameter gets a gradient in the check), then the check inputs for that config.
weights() {
    local name=$1
    shift
    d "w.$name" train "$@" "${DATA[@]}" --global-batch-size 4 --max-steps 2 --lr 1e-3 --ckpt-every 2 \
        --results-dir "$TMP/w.$name" || return 1
    py "$SRC/tests/make_check_inputs.py" "$TMP/in.$name.safetensors" "$CHECK_B" 4 "$(side_of "$@")" 10 3 ||
        { fail "$name: make_check_inputs.py"; return 1; }
}
# check_dev NAME DEV PREC CONFIG...: ditc check with gradients and 2 AdamW steps
check_dev() {
    local name=$1 dev=$2 prec=$3
    shift 3
    d "check.$name.$dev.$prec" check --device "$dev" --precision "$prec" --ckpt "$(last_ckpt "$TMP/w.$name")/model.safetensors" \
        --inputs "$TMP/in.$name.safetensors" --num-heads "$(heads_of "$@")" --grads --train-steps 2 --lr 1e-4 \
        --out "$TMP/check.$name.$dev.$prec.safetensors"
}
check_config() { # NAME PRECISIONS CONFIG...
    local name=$1 precs=$2 p
    shift 2
    weights "$name" "$@" || return
    check_dev "$name" cpu fp32 "$@" || return
    for p in $precs; do
        check_dev "$name" "$DEV" "$p" "$@" || continue
        # the parameters after the 2 AdamW steps get a limit of their own (ptol): Adam's first updates are ±lr
        # whatever the gradient's size, so an element whose gradient is near 0 moves by 2·lr the other way when
        # rounding flips its sign (measured at DiT-S/2 real size on the CPU emulation of the device: tf32 2.4e-2,
        # bf16 3.8e-2 / 1.1e-2 against the CPU's bf16, all in t_embedder.mlp.0.bias; gradients ≤ 5.4e-4 / 4.3e-3)
        local tol=1e-4 ptol=1e-4
        [ "$p" = tf32 ] && tol=1e-2 ptol=6e-2
        [ "$p" = bf16 ] && tol=5e-2 ptol=1e-1
        stc "check $name: outputs, losses, every gradient, 2 AdamW steps, $DEV $p vs CPU (limit $tol, parameters $ptol)" \
            "$TMP/check.$name.cpu.fp32.safetensors" "$TMP/check.$name.$DEV.$p.safetensors" "$tol" "param.=$ptol"
        # tf32/bf16 run the GEMM epilogues on cuBLASLt (bias, GELU, bias gradient): each found an algorithm, none
        # fell back to separate passes (what the library accepts is known only on the device; the emulation follows
        # cublasLt.h: e.g. a BF16 D takes a BF16 bias). The GELU-gradient epilogue (DGELU: newer in ditc, and the one
        # whose type support cublasLt.h does not spell out) falling back is reported, not failed: its passes are the
        # path that was there before it.
        if [ $CUDA = 1 ] && [ "$p" != fp32 ] && [ -z "${DITC_CUBLASLT:-}" ]; then
            ! grep -E 'cuBLASLt has no algorithm|cuemu: cublasLt' "$TMP/check.$name.$DEV.$p.err" |
                grep -v 'GELU-gradient epilogue' >"$TMP/lt.txt"
            check $? "check $name $p: every GEMM epilogue on cuBLASLt$(head -n 2 "$TMP/lt.txt" | sed 's/^/; /' | tr '\n' ' ')"
            if grep -q 'no algorithm for the GELU-gradient' "$TMP/check.$name.$DEV.$p.err"; then
                echo "NOTE check $name $p: cuBLASLt has no DGELU algorithm: GELU's backward as two passes"
            fi
        fi
        if [ "$p" = bf16 ]; then # the same arithmetic on the CPU (its bf16 emulation): a tighter limit
            check_dev "$name" cpu bf16 "$@" &&
                stc "check $name: $DEV bf16 vs the CPU's bf16 emulation (limit 1e-2, parameters 3e-2)" \
                    "$TMP/check.$name.cpu.bf16.safetensors" "$TMP/check.$name.$DEV.bf16.safetensors" 1e-2 param.=3e-2
            # the flash attention (DITC_ATTN=flash: backend.h flash_fwd/bwd) against the CPU's loops of its arithmetic
            local dv ok=1
            [[ " $VARIANTS " == *" flash "* ]] || ok=skip
            for dv in cpu "$DEV"; do
                [ $ok = skip ] && break
                DITC_ATTN=flash d "check.$name.$dv.flash" check --device "$dv" --precision bf16 \
                    --ckpt "$(last_ckpt "$TMP/w.$name")/model.safetensors" --inputs "$TMP/in.$name.safetensors" \
                    --num-heads "$(heads_of "$@")" --grads --train-steps 2 --lr 1e-4 \
                    --out "$TMP/check.$name.$dv.flash.safetensors" || ok=0
            done
            [ $ok = 1 ] && stc "check $name: $DEV bf16 with DITC_ATTN=flash vs the CPU's (limit 1e-2, parameters 3e-2)" \
                "$TMP/check.$name.cpu.flash.safetensors" "$TMP/check.$name.$DEV.flash.safetensors" 1e-2 param.=3e-2
            # the GELU output recomputed for fc2's dW GEMM (DITC_GELU_RECOMPUTE=1: GELU from the stored bf16
            # pre-activation, not the GEMM epilogue's) against the CPU's bf16 default (they differ there by ~1e-3)
            if [[ " $VARIANTS " == *" gelu_recompute "* ]] &&
                DITC_GELU_RECOMPUTE=1 d "check.$name.$DEV.gelu_recompute" check --device "$DEV" --precision bf16 \
                    --ckpt "$(last_ckpt "$TMP/w.$name")/model.safetensors" --inputs "$TMP/in.$name.safetensors" \
                    --num-heads "$(heads_of "$@")" --grads --train-steps 2 --lr 1e-4 \
                    --out "$TMP/check.$name.$DEV.gelu_recompute.safetensors"; then
                stc "check $name: $DEV bf16 with DITC_GELU_RECOMPUTE=1 vs the CPU's bf16 (limit 1e-2, parameters 3e-2)" \
                    "$TMP/check.$name.cpu.bf16.safetensors" "$TMP/check.$name.$DEV.gelu_recompute.safetensors" 1e-2 \
                    param.=3e-2
            fi
        fi
    done
}
PRECS="fp32 bf16"
[ $CUDA = 1 ] && PRECS="fp32 tf32 bf16"
PRECS=${DITC_GPU_CHECK_PRECISIONS:-$PRECS}
VARIANTS=${DITC_GPU_CHECK_VARIANTS-flash gelu_recompute}

if want check; then
    echo "== check: DiT-S/2 (${S2[*]}) and hd 72 (${HD72[*]}), batch $CHECK_B"
    check_config s2 "$PRECS" "${S2[@]}"
    check_config hd72 fp32 "${HD72[@]}"
fi

if want train; then
    echo "== train: 50 steps of ${TINY[*]}, global batch 8"
    for r in cpu:fp32 "$DEV":fp32 cpu:bf16 "$DEV":bf16 $([ $CUDA = 1 ] && echo "$DEV:tf32"); do
        dev=${r%:*} prec=${r##*:}
        d "t.$dev.$prec" train "${TINY[@]}" "${DATA[@]}" --device "$dev" --precision "$prec" --global-batch-size 8 \
            --max-steps 50 --log-every 1 --ckpt-every 50 --max-grad-norm 1.0 --results-dir "$TMP/t.$dev.$prec"
    done
    cmp_losses "$TMP/t.cpu.fp32" "$TMP/t.$DEV.fp32" 50 1e-3 "50 steps fp32 losses: $DEV vs CPU"
    cmp_losses "$TMP/t.cpu.bf16" "$TMP/t.$DEV.bf16" 50 2e-2 "50 steps bf16 losses: $DEV vs the CPU's bf16 emulation"
    if [ $CUDA = 1 ]; then
        cmp_losses "$TMP/t.$DEV.fp32" "$TMP/t.$DEV.tf32" 50 1e-2 "50 steps tf32 vs fp32 losses on $DEV"
        cmp_losses "$TMP/t.$DEV.fp32" "$TMP/t.$DEV.bf16" 50 5e-2 "50 steps bf16 vs fp32 losses on $DEV"
    fi
fi

if want memory; then
    echo "== memory: --grad-checkpoint and micro-batches on $DEV"
    M=("${TINY[@]}" "${DATA[@]}" --device "$DEV" --log-every 1)
    d m.plain train "${M[@]}" --global-batch-size 8 --max-steps 3 --ckpt-every 3 --results-dir "$TMP/m.plain"
    d m.gc train "${M[@]}" --global-batch-size 8 --max-steps 3 --ckpt-every 3 --grad-checkpoint --results-dir "$TMP/m.gc"
    a=$(last_ckpt "$TMP/m.plain") b=$(last_ckpt "$TMP/m.gc")
    cmp -s "$a/model.safetensors" "$b/model.safetensors" && cmp -s "$a/optimizer.safetensors" "$b/optimizer.safetensors" &&
        cmp -s <(losses "$TMP/m.plain") <(losses "$TMP/m.gc")
    check $? "--grad-checkpoint on $DEV: 3 steps, losses, weights and optimizer state bit-identical to the run without it"
    d m.full train "${M[@]}" --global-batch-size 16 --max-steps 2 --ckpt-every 2 --results-dir "$TMP/m.full"
    d m.micro train "${M[@]}" --global-batch-size 16 --micro-batch-size 4 --max-steps 2 --ckpt-every 2 --results-dir "$TMP/m.micro"
    for f in model ema; do
        stc "micro-batches of 4 on $DEV: $f after 2 steps vs batch 16 (limit 1e-5)" "$(last_ckpt "$TMP/m.full")/$f.safetensors" \
            "$(last_ckpt "$TMP/m.micro")/$f.safetensors" 1e-5
    done
    cmp_losses "$TMP/m.full" "$TMP/m.micro" 2 1e-5 "micro-batches on $DEV: losses"
fi

if want ldit; then
    echo "== ldit: ${LDIT[*]}"
    check_config ldit fp32 "${LDIT[@]}"
fi

if want resume; then
    echo "== resume on $DEV: 6 steps straight vs 3 + --resume latest + 3"
    R=("${TINY[@]}" "${DATA[@]}" --device "$DEV" --global-batch-size 8 --log-every 1 --ckpt-every 3)
    d r.straight train "${R[@]}" --max-steps 6 --results-dir "$TMP/r.straight"
    d r.first train "${R[@]}" --max-steps 3 --results-dir "$TMP/r.resumed"
    d r.second train --resume latest --results-dir "$TMP/r.resumed" --max-steps 6
    ok=0
    cmp -s <(tail -n +2 "$(run_dir "$TMP/r.straight")metrics.csv" | cut -d, -f1-3,6,7) \
        <(tail -n +2 "$(run_dir "$TMP/r.resumed")metrics.csv" | cut -d, -f1-3,6,7) || { ok=1; echo "  per-step losses differ"; }
    for f in model ema optimizer; do
        cmp -s "$(last_ckpt "$TMP/r.straight")/$f.safetensors" "$(last_ckpt "$TMP/r.resumed")/$f.safetensors" ||
            { ok=1; echo "  $f.safetensors differs"; }
    done
    check $ok "resume on $DEV: 6 per-step losses, model, EMA and optimizer bit-identical ($(losses "$TMP/r.resumed" | wc -l) rows)"
fi

if want sample; then
    echo "== sample: $DEV vs CPU sampler"
    make_idx "$TMP/idx" 64 16 10 # 1-channel images (a 4-channel model would need a VAE to decode its samples)
    d s.w train "${TINY[@]}" --image-size 16 --data-path "$TMP/idx" --num-workers 0 --global-batch-size 8 --max-steps 5 \
        --lr 1e-3 --results-dir "$TMP/s.w"
    ck=$(last_ckpt "$TMP/s.w")
    for smp in ddim ddpm; do
        for dev in cpu "$DEV"; do
            d "s.$smp.$dev" sample --ckpt "$ck" --use-model --device "$dev" --sampler "$smp" --num-sampling-steps 10 \
                --per-class 1 --cfg-scale 4 --seed 7 --out "$TMP/s.$smp.$dev.png"
        done
        a=$TMP/s.$smp.cpu.png b=$TMP/s.$smp.$DEV.png
        if cmp -s "$a" "$b"; then
            pass "sample $smp, 10 steps: $DEV and CPU grids identical ($(wc -c <"$a") bytes)"
        elif py -c 'import PIL, numpy' 2>/dev/null; then
            msg=$(py - "$a" "$b" <<'EOF'
import sys, numpy as np
from PIL import Image
a, b = (np.asarray(Image.open(p)).astype(int) for p in sys.argv[1:3])
if a.shape != b.shape: print(f"shapes {a.shape} vs {b.shape}"); sys.exit(1)
d = np.abs(a - b); frac = float((d > 0).mean())
print(f"max {d.max()} grey levels apart on {100 * frac:.3f}% of {d.size} values (limit 2 on 0.5%)")
sys.exit(0 if d.max() <= 2 and frac <= 0.005 else 1)
EOF
)
            check $? "sample $smp, 10 steps: $DEV vs CPU grid: $msg"
        else
            fail "sample $smp: the grids differ and $PY has no Pillow + numpy to measure by how much"
        fi
    done
fi

if want mpi; then
    echo "== mpi: -np 2 on one $DEV vs -np 1"
    MPI=(mpirun --oversubscribe -np)
    [ "$(id -u)" = 0 ] && MPI=(mpirun --allow-run-as-root --oversubscribe -np)
    # (--comm mpi: the staging path even where each rank could have a GPU of its own; the nccl stage takes that)
    P=("${TINY[@]}" "${DATA[@]}" --device "$DEV" --global-batch-size 8 --log-every 1 --ckpt-every 4 --max-steps 4 --threads 1
       --comm mpi)
    if ! command -v mpirun >/dev/null; then
        echo "SKIP mpi: no mpirun on this machine (the MPI staging path stays unverified here)"
    elif ! timeout --foreground 120 "${MPI[@]}" 1 "$DITC" train "${P[@]}" --max-steps 1 --results-dir "$TMP/p.probe" >"$TMP/p.probe.log" 2>&1 ||
        ! grep -q "mpi communicator" "$TMP/p.probe.log"; then
        echo "SKIP mpi: ditc is not built with MPI (-DDITC_MPI=ON) or mpirun failed ($(grep -o -m1 '([a-z]* communicator)' "$TMP/p.probe.log" || tail -n 1 "$TMP/p.probe.log"))"
    else
        for np in 1 2; do
            timeout --foreground "$TO" "${MPI[@]}" $np "$DITC" train "${P[@]}" --results-dir "$TMP/p.np$np" >"$TMP/p.np$np.log" 2>&1
            check $? "mpirun -np $np on $DEV: 4 steps ($(grep -o '[0-9]* process[a-z]* ([a-z]* communicator)' "$TMP/p.np$np.log" | head -n 1))"
        done
        cmp_losses "$TMP/p.np1" "$TMP/p.np2" 4 1e-5 "mpirun -np 2 vs -np 1 on $DEV: losses"
        stc "mpirun -np 2 vs -np 1 on $DEV: EMA after 4 steps (limit 1e-5)" "$(last_ckpt "$TMP/p.np1")/ema.safetensors" \
            "$(last_ckpt "$TMP/p.np2")/ema.safetensors" 1e-5
    fi
fi

if want nccl; then
    echo "== nccl: --comm nccl (a GPU per rank) vs -np 1"
    MPI=(mpirun --oversubscribe -np)
    [ "$(id -u)" = 0 ] && MPI=(mpirun --allow-run-as-root --oversubscribe -np)
    P=("${TINY[@]}" "${DATA[@]}" --device "$DEV" --global-batch-size 12 --log-every 1 --ckpt-every 4 --max-steps 4 --threads 1)
    # nccl NP NAME FLAGS...: an -np NP run with --comm nccl (which refuses rather than fall back)
    nccl() {
        local np=$1 name=$2
        shift 2
        timeout --foreground "$TO" "${MPI[@]}" "$np" "$DITC" train "${P[@]}" --comm nccl "$@" --results-dir "$TMP/n.$name" \
            >"$TMP/n.$name.log" 2>&1
    }
    if [ $CUDA = 0 ] || ! command -v mpirun >/dev/null; then
        echo "SKIP nccl: needs --device cuda and mpirun"
    elif ! nccl 2 probe --max-steps 1 && grep -q -e '--comm nccl:' "$TMP/n.probe.log"; then # ditc refused: why
        echo "SKIP nccl: $(grep -m1 -e '--comm nccl:' "$TMP/n.probe.log") (one GPU per rank needed: 2 or more GPUs, or the CPU emulation's CUEMU_DEVICES=2)"
    elif grep -q -E '1 process|single' "$TMP/n.probe.log" && ! grep -q 'nccl communicator' "$TMP/n.probe.log"; then
        echo "SKIP nccl: ditc is not built with MPI (-DDITC_MPI=ON): each process ran alone"
    elif ! grep -q 'nccl communicator' "$TMP/n.probe.log"; then # it did not refuse, and did not run either
        fail "nccl: the -np 2 probe failed: $(grep -v '^\[' "$TMP/n.probe.log" | head -n 3 | tr '\n' ' ')"
    else
        d n.np1 train "${P[@]}" --results-dir "$TMP/n.np1"
        for v in "2 np2" "2 zero2 --zero 2" "2 buckets --grad-bucket-mb 0.01" "3 np3 --zero 2"; do
            read -r np name flags <<<"$v"
            # shellcheck disable=SC2086
            if ! nccl "$np" "$name" $flags; then
                if [ "$np" = 3 ] && grep -qE "own|visible" "$TMP/n.$name.log"; then
                    echo "SKIP nccl -np 3: fewer than 3 GPUs"
                    continue
                fi
                fail "nccl $name: exited non-zero: $(tail -n 2 "$TMP/n.$name.log" | tr '\n' ' ')"
                continue
            fi
            grep -q 'nccl communicator' "$TMP/n.$name.log"
            check $? "nccl $name: -np $np${flags:+ $flags} ran on the nccl communicator"
            cmp_losses "$TMP/n.np1" "$TMP/n.$name" 4 1e-5 "nccl $name vs -np 1: losses"
            stc "nccl $name vs -np 1: EMA after 4 steps (limit 1e-5)" "$(last_ckpt "$TMP/n.np1")/ema.safetensors" \
                "$(last_ckpt "$TMP/n.$name")/ema.safetensors" 1e-5
        done
        # a GPU per rank made visible to that rank alone (srun --gpus-per-task=1, or CUDA_VISIBLE_DEVICES per rank):
        # every rank's cuda:0, a different GPU each — --comm auto must still find NCCL usable (the GPUs' UUIDs
        # differ). The emulation: one device per rank, numbered from the rank (CUEMU_DEVICE_BASE).
        # shellcheck disable=SC2016
        if timeout --foreground "$TO" "${MPI[@]}" 2 -x CUEMU_DEVICES=1 sh -c \
            'r=${OMPI_COMM_WORLD_LOCAL_RANK:-${MPI_LOCALRANKID:-0}}; CUDA_VISIBLE_DEVICES=$r CUEMU_DEVICE_BASE=$r exec "$0" "$@"' \
            "$DITC" train "${P[@]}" --results-dir "$TMP/n.vis" >"$TMP/n.vis.log" 2>&1; then
            grep -q 'nccl communicator' "$TMP/n.vis.log"
            check $? "nccl: a GPU per rank visible to it alone (each rank's cuda:0): --comm auto picks the nccl communicator"
            cmp_losses "$TMP/n.np1" "$TMP/n.vis" 4 1e-5 "nccl, a GPU visible per rank, vs -np 1: losses"
        else
            fail "nccl: a GPU per rank visible to it alone: exited non-zero: $(tail -n 2 "$TMP/n.vis.log" | tr '\n' ' ')"
        fi
        # a peer that fails mid-run: NCCL's asynchronous error (injected by the emulation after 40 collectives) ends
        # the ranks through the communicator's watchdog, with NCCL's message, instead of leaving them waiting
        if grep -q cuemu "$TMP/probe.out"; then
            timeout --foreground "$TO" "${MPI[@]}" 2 -x CUEMU_NCCL_ASYNC_ERROR_AFTER=40 "$DITC" train "${P[@]}" \
                --comm nccl --max-steps 200 --ckpt-every 1000 --results-dir "$TMP/n.fail" >"$TMP/n.fail.log" 2>&1
            rc=$?
            [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q 'a peer failed or left' "$TMP/n.fail.log"
            check $? "nccl: a peer's failure (NCCL's asynchronous error) stops every rank with NCCL's message (exit $rc)"
        fi
    fi
fi
finish
