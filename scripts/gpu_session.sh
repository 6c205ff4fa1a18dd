#!/usr/bin/env bash
# gpu_session.sh — everything a session with a GPU runs, in ONE call, writing all logs to $OUT (default ./out-gpu):
#   1. configure + build with CUDA (architecture of the visible card only, to save time; ninja/make -j all cores)
#   2. ctest -L gpu (test_gpu_parity: every op CPU vs CUDA; test_gpu_train.sh: ditc check + 50 steps) with output
#   3. ditc bench DiT-XL/2, batch 32, latent 32, bf16 (and tf32), beside the PyTorch reference step timing
#      (/work/shared/tools/pytorch_dit_step.py or the copy under shared/; skipped with a note if torch is absent).
# Each stage's log goes to $OUT/<stage>.log and a summary to $OUT/summary.txt; a failing stage does not stop the
# later ones. Usage (device machine, repository root):  bash scripts/gpu_session.sh
set -u
OUT=${OUT:-$PWD/out-gpu}
mkdir -p "$OUT"
SUM=$OUT/summary.txt
: >"$SUM"
note() { echo "$*" | tee -a "$SUM"; }
JOBS=$(nproc 2>/dev/null || echo 8)

note "== device"
nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version --format=csv 2>&1 | tee -a "$SUM"
CC=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')
ARCH=${CUDA_ARCH:-${CC:-90}}

note "== build (CMAKE_CUDA_ARCHITECTURES=$ARCH)"
BUILD=${BUILD:-build-gpu}
if cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DDITC_CUDA=ON -DDITC_WERROR=ON \
        -DCMAKE_CUDA_ARCHITECTURES="$ARCH" >"$OUT/configure.log" 2>&1 &&
    cmake --build "$BUILD" -j "$JOBS" --target ditc test_gpu_parity st_compare >"$OUT/build.log" 2>&1; then
    note "build: ok"
else
    note "build: FAILED (see build.log / configure.log)"
    tail -40 "$OUT/build.log" "$OUT/configure.log" 2>/dev/null | tee -a "$SUM"
    exit 1
fi
DITC=$BUILD/ditc

note "== parity suite (ctest -L gpu)"
(cd "$BUILD" && ctest -L gpu --output-on-failure --timeout 900) >"$OUT/ctest_gpu.log" 2>&1
note "ctest -L gpu exit $?"
"$BUILD/test_gpu_parity" >"$OUT/parity_ops.log" 2>&1
grep -E "^FAIL|passed," "$OUT/parity_ops.log" | tee -a "$SUM"
grep -E "^(PASS|FAIL|SKIP)" "$OUT/ctest_gpu.log" | grep -v "^PASS.*NMSE" | tail -20 >>"$SUM"

note "== ditc bench DiT-XL/2 batch 32 latent 32"
for prec in bf16 tf32; do
    "$DITC" bench --device cuda --precision "$prec" --model DiT-XL/2 --batch 32 --image-size 32 --steps 10 \
        --warmup 3 >"$OUT/bench_$prec.log" 2>&1
    note "ditc bench $prec (exit $?):"
    grep -E "ms/step|MFU|peak device|phases" "$OUT/bench_$prec.log" | tee -a "$SUM"
done
"$DITC" bench --device cuda --precision bf16 --model DiT-XL/2 --batch 32 --image-size 32 --steps 5 --warmup 2 \
    --grad-checkpoint >"$OUT/bench_bf16_ckpt.log" 2>&1
note "ditc bench bf16 --grad-checkpoint (exit $?):"
grep -E "ms/step|arena peak|peak device" "$OUT/bench_bf16_ckpt.log" | tee -a "$SUM"

note "== PyTorch reference step"
REFPY=""
for p in /work/shared/tools/pytorch_dit_step.py shared/tools/pytorch_dit_step.py; do [ -f "$p" ] && REFPY=$p && break; done
if [ -z "$REFPY" ]; then
    note "pytorch_dit_step.py not found: no PyTorch comparison"
elif ! python3 -c 'import torch; assert torch.cuda.is_available()' >/dev/null 2>&1; then
    note "PyTorch with CUDA is not installed here: no PyTorch comparison (run $REFPY --device cuda --bf16 elsewhere)"
else
    python3 "$REFPY" --model DiT-XL/2 --batch 32 --latent 32 --steps 10 --device cuda --bf16 >"$OUT/pytorch_bf16.log" 2>&1
    note "pytorch bf16 (exit $?): $(tail -3 "$OUT/pytorch_bf16.log")"
    python3 "$REFPY" --model DiT-XL/2 --batch 32 --latent 32 --steps 10 --device cuda --bf16 --compile \
        >"$OUT/pytorch_bf16_compile.log" 2>&1
    note "pytorch bf16 + torch.compile (exit $?): $(tail -3 "$OUT/pytorch_bf16_compile.log")"
fi
note "== done: logs in $OUT"
