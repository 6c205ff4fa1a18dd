#!/usr/bin/env bash
# gpu_session.sh — everything a lent GPU machine should do, in ONE device call (run from the repository root,
# with .gpu-kit/ carried: make it here first with `bash scripts/gpu_kit.sh`):
#   env      what the machine has (GPU, nvcc, cmake, python3 + torch, compute-sanitizer, system dev libraries)
#   kit      unpack .gpu-kit/root.tar.gz (OpenBLAS, libpng, libjpeg, zlib from Debian) into .gpu-kit/root
#   build    CUDA build (-G Ninja, sm of the visible card, no -Werror, all cores) against the kit's libraries only
#   parity   test_gpu_parity: every backend entry CPU vs CUDA
#   train    ctest -L gpu (test_gpu_train: ditc check and 50-step losses CPU vs CUDA), python3 = the machine's
#   memcheck, racecheck   compute-sanitizer over test_gpu_parity's quick case set
#   bench    ditc bench DiT-XL/2 batch 32 bf16 / tf32 / bf16 + --grad-checkpoint
#   peer     the PyTorch reference step (eager bf16, torch.compile) from .gpu-kit/pytorch_dit_step.py
# Stages run in that order (most valuable first), each under its own timeout, and a stage is skipped when the
# session budget (DITC_GPU_BUDGET seconds, default 420) is used up (the last one gets what is left). A failing stage does not
# stop the next ones (except a failed build). Everything comes back as $OUT/summary.txt (per stage: exit status,
# seconds, the lines that matter) and $OUT/logs.tar.gz (every log): 2 files, within the device tool's 8.
# DITC_GPU_DRY=1: here, without a GPU: every stage that needs none (env, kit, configure + build against the kit
# only), the GPU stages print their commands; DITC_GPU_DRY=2: no build either (syntax, plan, packaging; the
# ctest test_gpu_session_dry runs this).
set -u
ROOT=$PWD
OUT=${OUT:-$ROOT/out-gpu}
DRY=${DITC_GPU_DRY:-0}
BUDGET=${DITC_GPU_BUDGET:-420}
KIT=$ROOT/.gpu-kit
BUILD=${BUILD:-$ROOT/build-gpu}
JOBS=$(nproc 2>/dev/null || echo 8)
LOGS=$OUT/logs
mkdir -p "$LOGS"
SUM=$OUT/summary.txt
: >"$SUM"
T0=$(date +%s)
note() { echo "$*" | tee -a "$SUM"; }
elapsed() { echo $(($(date +%s) - T0)); }

# stage NAME TIMEOUT GPU(0|1) CMD...: runs CMD (a command or a function of this script) under timeout with its
# output in $LOGS/NAME.log; records the exit status and the seconds. The timeout is cut to what is left of the
# session budget, and a stage is skipped when less than 20 s are left. GPU stages only print their command in a
# dry run. DITC_GPU_STAGES="parity train ..." runs only the named GPU stages (e.g. a second call that reuses the
# build of the first: the device keeps ignored build outputs while it stays warm).
stage() {
    local name=$1 limit=$2 gpu=$3 t rc left
    shift 3
    if [ "$gpu" = 1 ] && [ -n "${DITC_GPU_STAGES:-}" ] && [[ " $DITC_GPU_STAGES " != *" $name "* ]]; then
        return 0
    fi
    if [ "$DRY" != 0 ] && [ "$gpu" = 1 ]; then
        note "[$name] dry run: would run (timeout ${limit}s): $*"
        return 0
    fi
    left=$((BUDGET - $(elapsed)))
    if [ "$left" -lt 20 ] && [ "$name" != env ]; then
        note "[$name] SKIPPED: the session budget (${BUDGET}s) is used up"
        return 125
    fi
    [ "$left" -lt "$limit" ] && limit=$left
    t=$(date +%s)
    if declare -F "$1" >/dev/null; then
        timeout -k 10 "$limit" bash -c "$(declare -f "$1"); $*" >"$LOGS/$name.log" 2>&1
    else
        timeout -k 10 "$limit" "$@" >"$LOGS/$name.log" 2>&1
    fi
    rc=$?
    note "[$name] exit $rc in $(($(date +%s) - t))s$([ $rc = 124 ] && echo " (TIMEOUT ${limit}s)")"
    return $rc
}
# show NAME PATTERN: the log lines of a stage that matter, into the summary
show() { grep -E "$2" "$LOGS/$1.log" 2>/dev/null | head -n "${3:-30}" | sed 's/^/    /' | tee -a "$SUM"; }

env_report() {
    echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)"
    nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version --format=csv 2>&1 || echo "nvidia-smi: none"
    nvcc --version 2>&1 | tail -n 2 || echo "nvcc: none"
    cmake --version 2>&1 | head -n 1
    ninja --version 2>&1 | sed 's/^/ninja /' || echo "ninja: none"
    gcc --version 2>&1 | head -n 1
    echo "python3: $(command -v python3)"
    python3 -c 'import torch, sys; print("torch", torch.__version__, "cuda", torch.cuda.is_available())' 2>&1 | tail -n 1
    compute-sanitizer --version 2>&1 | head -n 1 || echo "compute-sanitizer: none"
    command -v mpirun >/dev/null && echo "mpirun: $(mpirun --version 2>&1 | head -n 1)" || echo "mpirun: none"
    for h in cblas.h png.h jpeglib.h zlib.h; do
        f=$(find /usr/include -name "$h" 2>/dev/null | head -n 1)
        echo "system $h: ${f:-absent}"
    done
    nproc
}

unpack_kit() {
    [ -f "$KIT/root.tar.gz" ] || { echo "no $KIT/root.tar.gz: run scripts/gpu_kit.sh here and carry .gpu-kit"; return 1; }
    rm -rf "$KIT/root"
    tar -C "$KIT" -xzf "$KIT/root.tar.gz" && find "$KIT/root" -name '*.so*' | head -n 20
}

KIT_PREFIX="$KIT/root/usr;$KIT/root"
export ROOT KIT BUILD JOBS KIT_PREFIX
export LD_LIBRARY_PATH="$KIT/root/usr/lib/x86_64-linux-gnu:$KIT/root/lib/x86_64-linux-gnu:$KIT/root/usr/lib/x86_64-linux-gnu/openblas-openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

configure() {
    local arch=${CUDA_ARCH:-}
    if [ -z "$arch" ]; then # the visible card's compute capability (90 for an H200); 90 in a dry run
        arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d ' .')
        arch=${arch:-90}
    fi
    local gen=()
    command -v ninja >/dev/null && gen=(-G Ninja)
    # Only the kit's libraries: system prefixes are ignored, so a missing kit piece fails here, not on the GPU.
    cmake -S "$ROOT" -B "$BUILD" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DDITC_CUDA=ON \
        -DCMAKE_CUDA_ARCHITECTURES="$arch" -DCMAKE_PREFIX_PATH="$KIT_PREFIX" -DCMAKE_IGNORE_PREFIX_PATH=/usr \
        -DDITC_NATIVE=ON
}

build() { cmake --build "$BUILD" -j "$JOBS" --target ditc test_gpu_parity st_compare; }

note "== ditc GPU session (dry run: $DRY, budget ${BUDGET}s, out $OUT)"
stage env 60 0 env_report
show env '.' 40
if [ "$DRY" = 2 ]; then
    note "[kit] [configure] [build] dry run 2: not run"
    bash -n "$0" && note "[syntax] bash -n: ok"
else
    stage kit 60 0 unpack_kit || { note "kit: FAILED"; show kit '.'; }
    if stage configure 120 0 configure && stage build 300 0 build; then
        note "build: ok ($BUILD)"
    else
        note "build: FAILED"
        tail -n 40 "$LOGS/configure.log" "$LOGS/build.log" 2>/dev/null | sed 's/^/    /' | tee -a "$SUM"
        [ "$DRY" = 0 ] && { tar -C "$LOGS" -czf "$OUT/logs.tar.gz" . && rm -rf "$LOGS"; exit 1; }
    fi
fi
DITC=$BUILD/ditc
PY=$(command -v python3)
export DITC_TEST_PYTHON=$PY OMP_NUM_THREADS=${OMP_NUM_THREADS:-8}

stage parity 120 1 "$BUILD/test_gpu_parity"
show parity '^(FAIL|SKIP)|passed|failed|cases' 40
stage train 240 1 ctest --test-dir "$BUILD" -L gpu --output-on-failure --timeout 230
show train '^(PASS|FAIL|SKIP)|tests passed|Failed' 40
for tool in memcheck racecheck; do
    stage "$tool" 120 1 env DITC_PARITY_QUICK=1 compute-sanitizer --tool "$tool" --error-exitcode 3 "$BUILD/test_gpu_parity"
    show "$tool" 'ERROR SUMMARY|RACECHECK SUMMARY|Device not supported|error' 5
done
XL=(--model DiT-XL/2 --batch 32 --image-size 32 --device cuda)
stage bench_bf16 90 1 "$DITC" bench "${XL[@]}" --precision bf16 --steps 10 --warmup 3
show bench_bf16 'ms/step|MFU|peak device|phases' 6
stage bench_tf32 90 1 "$DITC" bench "${XL[@]}" --precision tf32 --steps 10 --warmup 3
show bench_tf32 'ms/step|MFU|peak device|phases' 6
stage bench_bf16_ckpt 90 1 "$DITC" bench "${XL[@]}" --precision bf16 --steps 5 --warmup 2 --grad-checkpoint
show bench_bf16_ckpt 'ms/step|arena peak|peak device' 6
if [ -f "$KIT/pytorch_dit_step.py" ] && [ -f "$KIT/DiT/models.py" ]; then
    PEER=(env DIT_REF="$KIT/DiT" "$PY" "$KIT/pytorch_dit_step.py" --model DiT-XL/2 --batch 32 --latent 32 --steps 10
          --device cuda --bf16)
    stage peer_eager 120 1 "${PEER[@]}"
    show peer_eager 'img|s/step|Error' 3
    stage peer_compile 180 1 "${PEER[@]}" --compile
    show peer_compile 'img|s/step|Error' 3
else
    note "[peer] no .gpu-kit/pytorch_dit_step.py or .gpu-kit/DiT: no PyTorch comparison"
fi
note "== done in $(elapsed)s"
tar -C "$LOGS" -czf "$OUT/logs.tar.gz" . && rm -rf "$LOGS"
n=$(find "$OUT" -type f | wc -l)
note "returned files: $n ($(cd "$OUT" && ls | paste -sd ' '))"
[ "$n" -le 8 ]
