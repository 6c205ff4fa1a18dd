#!/usr/bin/env bash
# gpu_session.sh — the whole GPU verification of issue 17 in ONE device call (run THERE, repository root):
#   run(command="bash scripts/gpu_session.sh", carry=[".gpu-kit"], timeout_s=540)
# after `bash scripts/gpu_kit.sh` HERE filled .gpu-kit/ (OpenBLAS/libpng/libjpeg/zlib + -dev unpacked, DiT, the
# PyTorch peer script). Stages, most valuable first, each under its own timeout inside one deadline (default 400 s
# of the 7 minutes the issue allows; stages that no longer fit are listed as not run):
#   device     nvidia-smi query, tool versions, kit check (files, glibc), compute-sanitizer / mpirun presence
#   configure  cmake -G Ninja, Release, DITC_CUDA=ON for the card's architecture only, no -Werror, against the kit
#              (CMAKE_PREFIX_PATH / CMAKE_LIBRARY_PATH / -isystem; LD_LIBRARY_PATH for OpenBLAS's libgfortran)
#   build      ditc, test_gpu_parity, st_compare with all cores
#   parity     test_gpu_parity: every backend entry CPU vs CUDA at toy and DiT-XL/2 sizes (+ the grid-cap pass);
#              its GEMM cases again with DITC_CUBLASLT=0
#   train      tests/test_gpu_train.sh: ditc check / 50 steps / grad-checkpoint / micro-batches / Large-DiT /
#              resume / sample / mpirun (CPU vs GPU end to end, with the venv's python3)
#   memcheck   compute-sanitizer --tool memcheck over test_gpu_parity --small
#   racecheck  compute-sanitizer --tool racecheck over the shared-memory kernels (test_gpu_parity --small --only ...)
#   bench      ditc bench DiT-XL/2 batch 32 latent 32: bf16, tf32, bf16 + --grad-checkpoint (and, after the
#              PyTorch bf16 step, the per-kernel table of `--profile` (CUDA events) and bf16 with the fused fp32
#              attention kernel: DITC_ATTN=fused; last, bf16 without the producers' bf16 operands and cuBLASLt, and
#              the synchronised per-op profile DITC_PROFILE=1)
#   pytorch    the reference PyTorch step (DiT checkout of the kit) in bf16, then with torch.compile
# $OUT (default ./out-gpu) receives exactly two files, rewritten after every stage (so a run killed at its limit
# still returns them): summary.txt (per stage: exit, seconds, the key result lines) and logs.tar.gz (every log).
#
# Dry run HERE (no GPU):  DITC_GPU_DRY=1 bash scripts/gpu_session.sh
#   runs every part that needs no GPU — kit check, configure + build of the CUDA build against the kit's libraries
#   (then proves them used: CMake's cache, the headers each object was compiled with (ninja -t deps) and the
#   libraries ditc resolves (ldd) must all lie in the kit), CPU stand-ins of the parity and training scripts with
#   the kit's libraries, ptxas -v of every kernel (no spills: scripts/ptxas_report.sh), bash -n of the scripts,
#   the packaging and the $OUT file count — and prints the GPU commands it would run. DITC_GPU_DRY_BUILD=0 leaves out configure + build (the cheap part that ctest runs: test_gpu_dry).
# Env: OUT, DITC_GPU_KIT (.gpu-kit), DITC_GPU_BUILD (build-gpu), DITC_GPU_DEADLINE (400 s), DITC_GPU_JOBS (all
# cores; 2 in a dry run), CUDA_ARCH (default: the card's compute capability; 90 in a dry run), DITC_GPU_ONLY (GPU
# stage name prefixes to run, e.g. "bench pytorch" in a second call on the warm machine: the build is reused).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
DRY=${DITC_GPU_DRY:-0}
DRY_BUILD=${DITC_GPU_DRY_BUILD:-1}
KIT=${DITC_GPU_KIT:-.gpu-kit}
case $KIT in /*) ;; *) KIT=$ROOT/$KIT ;; esac
KIT=$(cd "$KIT" 2>/dev/null && pwd || echo "$KIT")
BUILD=${DITC_GPU_BUILD:-build-gpu}
DEADLINE=${DITC_GPU_DEADLINE:-400}
if [ "$DRY" = 1 ]; then
    JOBS=${DITC_GPU_JOBS:-2}
    OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/ditc-gpu-dry-out.XXXXXX")}
else
    JOBS=${DITC_GPU_JOBS:-$(nproc 2>/dev/null || echo 16)}
    OUT=${OUT:-$ROOT/out-gpu}
fi
mkdir -p "$OUT"
rm -f "$OUT/summary.txt" "$OUT/logs.tar.gz"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ditc-gpu-session.XXXXXX")
LOGS=$WORK/logs
mkdir -p "$LOGS"
SUM=$LOGS/summary.txt
START=$SECONDS
NFAIL=0
: >"$SUM"

note() { echo "$*" | tee -a "$SUM"; }
# pack: summary.txt and logs.tar.gz into $OUT (two files, whatever happened so far)
pack() {
    cp "$SUM" "$OUT/summary.txt"
    tar -czf "$OUT/logs.tar.gz.part" -C "$WORK" logs 2>/dev/null && mv "$OUT/logs.tar.gz.part" "$OUT/logs.tar.gz"
}
left() { echo $((DEADLINE - (SECONDS - START))); }
LINEBUF=""
command -v stdbuf >/dev/null && LINEBUF="stdbuf -oL -eL"
# stage NAME LIMIT KEY_REGEX CMD...: runs CMD under `timeout` (the smaller of LIMIT and the time left before the
# deadline; the whole process group is signalled), output to logs/NAME.log; notes exit, seconds and the log's lines
# matching KEY_REGEX (at most 40) in the summary. Returns CMD's exit status (124: timed out; 125: not run).
stage() {
    local name=$1 limit=$2 key=$3 rem t0 rc
    shift 3
    rem=$(left)
    if [ "$rem" -lt 20 ]; then
        note "-- $name: NOT RUN (${rem}s left before the ${DEADLINE}s deadline)"
        pack
        return 125
    fi
    [ "$limit" -gt "$rem" ] && limit=$rem
    note "-- $name (limit ${limit}s): $*"
    t0=$SECONDS
    # (line-buffered stdout: a process killed at its limit, or aborting, keeps every line it printed)
    local lb=$LINEBUF
    case $1 in *compute-sanitizer*) lb="" ;; esac # (its own LD_PRELOAD: none of stdbuf's)
    timeout -k 10 "$limit" $lb "$@" >"$LOGS/$name.log" 2>&1
    rc=$?
    [ -n "$key" ] && grep -E "$key" "$LOGS/$name.log" | head -n 80 | sed 's/^/   /' | tee -a "$SUM"
    local verdict=ok
    [ $rc -ne 0 ] && verdict=FAILED && NFAIL=$((NFAIL + 1))
    [ $rc -eq 124 ] && verdict="TIMED OUT"
    [ $rc -eq 77 ] && verdict=skipped && NFAIL=$((NFAIL - 1))
    note "   $name: $verdict (exit $rc, $((SECONDS - t0))s; at $((SECONDS - START))s)"
    [ $rc -ne 0 ] && [ $rc -ne 77 ] && tail -n 15 "$LOGS/$name.log" | sed 's/^/   | /' >>"$SUM"
    pack
    return $rc
}
# DITC_GPU_ONLY="bench pytorch": only the GPU stages whose names start with one of these words run (a second call
# on the warm machine, whose build-gpu/ is still there, e.g. for the benchmarks the first call's deadline cut)
only_wanted() {
    [ -z "${DITC_GPU_ONLY:-}" ] && return 0
    local w
    for w in $DITC_GPU_ONLY; do case $1 in "$w"*) return 0 ;; esac; done
    return 1
}
# gpu NAME LIMIT KEY CMD...: a GPU stage; in a dry run only says what it would run
gpu() {
    if ! only_wanted "$1"; then
        note "-- $1: skipped (DITC_GPU_ONLY=$DITC_GPU_ONLY)"
        return 0
    fi
    if [ "$DRY" = 1 ]; then
        note "-- $1 (limit $2 s): would run: ${*:4}"
        return 0
    fi
    stage "$@"
}

note "== ditc GPU session $(date -u +%Y-%m-%dT%H:%M:%SZ) $([ "$DRY" = 1 ] && echo "(DRY RUN: no GPU stage runs)")"
note "   commit $(git rev-parse --short HEAD 2>/dev/null || echo '?') $(git status --porcelain 2>/dev/null | grep -qv '^??' && echo '(modified)')"

# ---- device, tools, kit ---------------------------------------------------------------------------------------
note "== device"
GPU_CAP=""
if [ "$DRY" = 1 ]; then
    note "   (dry run) nvidia-smi would be queried; architecture ${CUDA_ARCH:-90}"
else
    timeout 60 nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv 2>&1 | tee -a "$SUM"
    GPU_CAP=$(timeout 60 nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d ' .')
    [[ $GPU_CAP =~ ^[0-9]+$ ]] || { note "   compute capability not read ('$GPU_CAP'): architecture 90"; GPU_CAP=""; }
fi
pack
ARCH=${CUDA_ARCH:-${GPU_CAP:-90}}
{
    echo "   nvcc: $(nvcc --version 2>/dev/null | tail -n 2 | head -n 1)"
    echo "   cmake: $(cmake --version 2>/dev/null | head -n 1); ninja: $(ninja --version 2>/dev/null || echo none); gcc: $(gcc -dumpfullversion 2>/dev/null)"
    echo "   python3: $(command -v python3) $(timeout 120 python3 -c 'import sys, torch; print(sys.version.split()[0], "torch", torch.__version__, "cuda", torch.cuda.is_available())' 2>&1 | tail -n 1)"
    echo "   glibc $(getconf GNU_LIBC_VERSION 2>/dev/null | cut -d' ' -f2); cores $(nproc); memory $(awk '/MemTotal/ {print int($2/1048576) " GiB"}' /proc/meminfo)"
} | tee -a "$SUM"
SANITIZER=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer /usr/local/cuda*/compute-sanitizer/compute-sanitizer 2>/dev/null | head -n 1)
note "   compute-sanitizer: ${SANITIZER:-not found}; mpirun: $(command -v mpirun || echo 'not found (the mpi check skips)'); mpicc: $(command -v mpicc || echo none)"

KIT_OK=1
KLIB=$KIT/root/usr/lib/x86_64-linux-gnu
KINC=$KIT/root/usr/include
if [ ! -d "$KIT/root" ]; then
    KIT_OK=0
    note "   kit: $KIT is missing — run bash scripts/gpu_kit.sh here and carry .gpu-kit"
else
    for f in "$KLIB/openblas-openmp/libopenblas.so.0" "$KINC/x86_64-linux-gnu/openblas-openmp/cblas.h" "$KLIB/libpng16.so" \
        "$KINC/png.h" "$KLIB/libjpeg.so" "$KINC/jpeglib.h" "$KINC/x86_64-linux-gnu/jconfig.h" "$KLIB/libz.so" "$KINC/zlib.h" \
        "$KLIB/libgfortran.so.5" "$KIT/DiT/models.py" "$KIT/pytorch_dit_step.py"; do
        [ -e "$f" ] || { KIT_OK=0; note "   kit: missing $f (links must travel as relative links)"; }
    done
    need=$(cat "$KIT/GLIBC_NEEDED" 2>/dev/null | sed 's/GLIBC_//')
    have=$(getconf GNU_LIBC_VERSION 2>/dev/null | cut -d' ' -f2)
    if [ -n "$need" ] && [ -n "$have" ] && [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | tail -n 1)" != "$have" ]; then
        KIT_OK=0
        note "   kit: its libraries need glibc $need, this machine has $have"
    fi
    note "   kit: $([ $KIT_OK = 1 ] && echo ok || echo INCOMPLETE) ($(du -sh "$KIT" | cut -f1); needs glibc ${need:-?}, here ${have:-?})"
fi
# OpenBLAS's own dependencies (libgfortran, libquadmath; libgomp only where the system has none) for the linker's
# and the loader's search; ditc's direct libraries are found through its build RPATH into the kit.
KIT_LD=$KLIB:$KLIB/openblas-openmp
if ! ldconfig -p 2>/dev/null | grep -q 'libgomp.so.1 ' && [ ! -e "$(gcc -print-file-name=libgomp.so.1 2>/dev/null)" ]; then
    KIT_LD=$KIT_LD:$KIT/fallback
    note "   libgomp.so.1: none on this machine, the kit's is used"
fi
# Python (torch, the PyTorch peer, the PNG comparison) gets the machine's own library path back: BASE_LD (the driver's
# libcuda may be found only through it), without the kit's libraries
export DITC_BASE_LD_LIBRARY_PATH=${LD_LIBRARY_PATH-}
export LD_LIBRARY_PATH=$KIT_LD${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export DITC_TEST_PYTHON=${DITC_TEST_PYTHON:-$(command -v python3 || echo /usr/bin/python3)}
pack

# ---- script syntax (a typo must not waste device time) ------------------------------------------------------------
stage syntax 30 'syntax|error' bash -c 'for s in "$@"; do bash -n "$s" || { echo "syntax error in $s"; exit 1; }; done' \
    _ scripts/gpu_session.sh scripts/gpu_kit.sh tests/test_gpu_train.sh tests/test_lib.sh
if [ "$DRY" = 1 ]; then # the stage machinery itself: a stage past its limit must come back as timed out (124)
    (stage timeout_selftest 1 '' sleep 30 >/dev/null)
    if [ $? -eq 124 ]; then note "   (timeout_selftest: timed out as it should)"; else note "   stage timeout self-test FAILED"; NFAIL=$((NFAIL + 1)); fi
fi

# ---- configure + build -------------------------------------------------------------------------------------------
GEN=(-G Ninja)
command -v ninja >/dev/null || { GEN=(); note "   no ninja: Unix Makefiles"; }
MPI_FLAGS=(-DDITC_MPI=OFF)
[ "$DRY" != 1 ] && command -v mpicc >/dev/null && MPI_FLAGS=(-DDITC_MPI=ON)
CONF=(cmake -S . -B "$BUILD" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release -DDITC_CUDA=ON "${MPI_FLAGS[@]}" -DDITC_WERROR=OFF
      -DCMAKE_CUDA_ARCHITECTURES="$ARCH" -DCMAKE_PREFIX_PATH="$KIT/root/usr"
      -DCMAKE_LIBRARY_PATH="$KLIB/openblas-openmp;$KLIB" -DCMAKE_INCLUDE_PATH="$KINC/x86_64-linux-gnu;$KINC"
      "-DCMAKE_C_FLAGS=-isystem $KINC/x86_64-linux-gnu")
BUILT=0
if [ "$DRY" = 1 ] && [ "$DRY_BUILD" = 0 ]; then
    note "-- configure: (dry run without build) would run: ${CONF[*]}"
    note "-- build: (dry run without build) would run: cmake --build $BUILD -j $JOBS --target ditc test_gpu_parity st_compare"
elif [ $KIT_OK = 0 ]; then
    note "-- configure + build: NOT RUN (the kit is incomplete)"
    NFAIL=$((NFAIL + 1))
else
    # (a second call with DITC_GPU_ONLY keeps the first call's build: ninja then has nothing to do)
    [ -n "${DITC_GPU_ONLY:-}" ] && [ -x "$BUILD/ditc" ] || rm -rf "$BUILD"
    if stage configure 120 '^-- (Found|Configuring done)|Error|error' "${CONF[@]}" &&
        stage build 300 'error|FAILED|warning: .*spill|Linking' cmake --build "$BUILD" -j "$JOBS" --target ditc test_gpu_parity st_compare; then
        BUILT=1
    elif [ "${MPI_FLAGS[0]}" = -DDITC_MPI=ON ]; then # MPI was never built in a dry run: without it rather than nothing
        note "   retrying without MPI (the mpi check then skips)"
        CONF=("${CONF[@]/-DDITC_MPI=ON/-DDITC_MPI=OFF}")
        rm -rf "$BUILD"
        stage configure_nompi 120 '^-- (Found|Configuring done)|Error|error' "${CONF[@]}" &&
            stage build_nompi 300 'error|FAILED|Linking' cmake --build "$BUILD" -j "$JOBS" --target ditc test_gpu_parity st_compare &&
            BUILT=1
    fi
fi

# ---- dry run: prove the kit was used, run what runs without a GPU -------------------------------------------------
if [ "$DRY" = 1 ] && [ $BUILT = 1 ]; then
    note "== dry run: did the build use the kit?"
    ok=1
    for v in BLAS_openblas_LIBRARY DITC_CBLAS_INCLUDE_DIR PNG_LIBRARY_RELEASE PNG_PNG_INCLUDE_DIR JPEG_LIBRARY_RELEASE \
        JPEG_INCLUDE_DIR ZLIB_LIBRARY_RELEASE ZLIB_INCLUDE_DIR; do
        val=$(grep -E "^$v:" "$BUILD/CMakeCache.txt" | cut -d= -f2-)
        case $val in "$KIT"/*) note "   cache $v = ${val#"$ROOT"/}" ;; *) ok=0; note "   cache $v = '$val' is NOT in the kit" ;; esac
    done
    if command -v ninja >/dev/null; then
        ninja -C "$BUILD" -t deps >"$LOGS/deps.txt" 2>&1
        for h in cblas.h png.h jpeglib.h jconfig.h zlib.h; do
            uses=$(grep -E "/$h\$" "$LOGS/deps.txt" | sed 's/^ *//' | sort -u)
            [ -z "$uses" ] && { note "   header $h: not used by any object?"; continue; }
            if echo "$uses" | grep -qv "^$KIT/"; then ok=0; note "   header $h from OUTSIDE the kit: $(echo "$uses" | grep -v "^$KIT/" | head -n 1)"
            else note "   header $h: $(echo "$uses" | head -n 1 | sed "s|^$ROOT/||")"; fi
        done
    fi
    ldd "$BUILD/ditc" >"$LOGS/ldd.txt" 2>&1
    for l in libopenblas.so.0 libpng16.so.16 libjpeg.so.62 libz.so.1 libgfortran.so.5; do
        p=$(grep -E "^\s*$l " "$LOGS/ldd.txt" | awk '{print $3}')
        case $p in "$KIT"/*) note "   ldd ditc: $l -> ${p#"$ROOT"/}" ;; *) ok=0; note "   ldd ditc: $l -> '$p' is NOT in the kit" ;; esac
    done
    [ $ok = 1 ] && note "   the CUDA build used the kit's libraries and headers only" || NFAIL=$((NFAIL + 1))
    stage parity_standin 60 'test_gpu_parity \(' "$BUILD/test_gpu_parity" --peer cpu-guard --small
    stage parity_gpu_absent 30 'SKIP' bash -c "'$BUILD/test_gpu_parity'; rc=\$?; [ \$rc = 77 ] && exit 0 || exit 1"
    stage ptxas 120 'spill stores +[1-9]|loads +[1-9]|attn' bash scripts/ptxas_report.sh "$ARCH"
    stage train_standin 120 '^(FAIL|SKIP)|^test_gpu_train' env DITC_GPU_DEVICE=cpu-guard bash tests/test_gpu_train.sh \
        "$BUILD/ditc" "$ROOT" "$BUILD/st_compare"
fi
# in a dry run: the bench flags must parse (the only error allowed is the missing GPU)
gpu_args() {
    [ "$DRY" = 1 ] && [ $BUILT = 1 ] || return 0
    "$@" >"$LOGS/args.log" 2>&1
    if grep -qE 'no such CUDA device|without CUDA' "$LOGS/args.log"; then return 0; fi
    note "   flags of '$*' do not parse: $(tail -n 1 "$LOGS/args.log")"
    NFAIL=$((NFAIL + 1))
}

# ---- GPU stages ----------------------------------------------------------------------------------------------------
B=$BUILD
if [ $BUILT = 1 ] || [ "$DRY" = 1 ]; then
    gpu parity 240 '^FAIL|^SKIP|^peer:|test_gpu_parity \(' "$B/test_gpu_parity"
    # the GEMM cases once more without cuBLASLt: the bias epilogue's fallback (bias fill + beta 1, or F32 + rounding)
    gpu parity_no_lt 90 '^FAIL|test_gpu_parity \(' env DITC_CUBLASLT=0 DITC_GEMM_PTR_ARRAYS=0 "$B/test_gpu_parity" \
        --only gemm,attention
    gpu train 300 '^(PASS|FAIL|SKIP|NOTE)|^test_gpu_train|^device' env DITC_GPU_STEP_TIMEOUT=90 bash tests/test_gpu_train.sh "$B/ditc" "$ROOT" "$B/st_compare"
    if [ -n "$SANITIZER" ] || [ "$DRY" = 1 ]; then
        CS=${SANITIZER:-compute-sanitizer}
        gpu memcheck 150 'ERROR SUMMARY|test_gpu_parity \(|Device not supported|^FAIL|Invalid|Program hit' "$CS" --tool memcheck --leak-check no \
            --error-exitcode 99 "$B/test_gpu_parity" --small
        gpu racecheck 150 'RACECHECK SUMMARY|ERROR SUMMARY|hazard|test_gpu_parity \(|^FAIL|Race reported|Program hit' "$CS" --tool racecheck \
            --error-exitcode 99 "$B/test_gpu_parity" --small --no-cap --only attention,norm,reduce,diffusion,optim
    else
        note "-- memcheck / racecheck: NOT RUN (no compute-sanitizer found)"
    fi
    BENCH=(--model DiT-XL/2 --batch 32 --image-size 32 --steps 10 --warmup 3)
    gpu_args "$B/ditc" bench --device cuda --precision bf16 "${BENCH[@]}" --grad-checkpoint
    gpu_args "$B/ditc" bench --device cuda --precision tf32 "${BENCH[@]}"
    gpu_args "$B/ditc" bench --device cuda --precision bf16 "${BENCH[@]}" --profile
    BK='ms/step|MFU|GFLOP|peak device|phases|arena|cuBLASLt|Error|error' # (every bench stage's summary lines)
    # The bench stages in the order of the acceptance (issue 18): ditc and PyTorch at batch 32, where the time goes,
    # --grad-checkpoint, batch 64 with its peer, the flash attention, torch.compile; then the A/Bs, the likeliest to
    # change a default first (a call that runs out of time loses the last ones: DITC_GPU_ONLY reruns them)
    gpu bench_bf16 90 "$BK|device" "$B/ditc" bench --device cuda --precision bf16 "${BENCH[@]}"
    # the PyTorch peer as it is, with its peak device memory printed after it (scripts/bench/run_pytorch_peer.py)
    PEER0=(env LD_LIBRARY_PATH="$DITC_BASE_LD_LIBRARY_PATH" DIT_REF="$KIT/DiT" DITC_PEER_TOOL="$KIT/pytorch_dit_step.py" PYTHONUNBUFFERED=1
           python3 scripts/bench/run_pytorch_peer.py --model DiT-XL/2 --latent 32 --device cuda --bf16)
    PEER=("${PEER0[@]}" --batch 32 --steps 10)
    gpu pytorch_bf16 120 'DiT|s/step|images|Error|peak_memory|peak memory' "${PEER[@]}"
    # where a bf16 step's time goes: every backend call timed between CUDA events (no synchronisation inside the
    # step), and the GEMM shapes with their TFLOP/s (ditc bench --profile, core/device/profile_backend.c)
    gpu bench_bf16_kernels 60 "$BK|^    [a-z_0-9]+ +[0-9.]+ ms|TFLOP/s|total" "$B/ditc" bench \
        --device cuda --precision bf16 "${BENCH[@]}" --profile
    # the memory --grad-checkpoint saves and what it costs
    gpu bench_bf16_ckpt 90 "$BK" "$B/ditc" bench --device cuda --precision bf16 "${BENCH[@]}" \
        --grad-checkpoint
    # a larger batch (the acceptance also asks for the largest batch PyTorch eager fits: its peak memory at 32 says
    # how far to go), ditc then PyTorch, 5 steps each
    gpu bench_bf16_b64 60 "$BK" "$B/ditc" bench --device cuda --precision bf16 --model DiT-XL/2 \
        --batch 64 --image-size 32 --steps 5 --warmup 2
    gpu pytorch_bf16_b64 90 'DiT|s/step|images|Error|peak_memory|peak memory' "${PEER0[@]}" --batch 64 --steps 5
    # A/B of the attention path: bf16 runs attention as GEMMs on tensor cores + row softmax by default
    # (core/ops/ops_attention_gemm.c); DITC_ATTN=flash takes the flash kernels on the tensor cores
    # (backend_cuda/cuda_flash.cu: WMMA tiles, no T² scores in memory, no kept probabilities), opt-in until this A/B
    # says they are faster
    # (with --profile: flash_fwd / flash_bwd in the per-kernel table, against bench_bf16_kernels' gemm + softmax rows)
    gpu bench_bf16_flash 90 "$BK|^    [a-z_0-9]+ +[0-9.]+ ms" env DITC_ATTN=flash "$B/ditc" \
        bench --device cuda --precision bf16 "${BENCH[@]}" --profile
    gpu pytorch_bf16_compile 180 'DiT|s/step|images|Error|peak_memory|peak memory' "${PEER[@]}" --compile
    # the GELU output not kept for the backward, recomputed by fc2's backward (ops.h ditc_gelu_drop): 2.0 GB less at
    # batch 32 for an elementwise pass per block; its peak memory and time against bench_bf16's
    gpu bench_bf16_gelu_recompute 60 "$BK" env DITC_GELU_RECOMPUTE=1 "$B/ditc" bench --device cuda --precision bf16 \
        --model DiT-XL/2 --batch 32 --image-size 32 --steps 5 --warmup 2
    # the GEMM attention recomputing P instead of keeping it (1.9 GB less; if the peak memory is above the peer's)
    gpu bench_bf16_no_keep_p 60 "$BK" env DITC_ATTN_KEEP_P=0 "$B/ditc" bench --device cuda --precision bf16 \
        --model DiT-XL/2 --batch 32 --image-size 32 --steps 5 --warmup 2
    # the GEMM attention with score chunks small enough for L2 (S and dP of 2 images: 24 MiB of the H100's 50 MB;
    # the default 256 MiB chunk of 21 images goes to HBM and back: ~1 GB per layer)
    gpu bench_bf16_score24 60 "$BK" env DITC_ATTN_SCORE_MB=24 "$B/ditc" bench --device cuda --precision bf16 \
        --model DiT-XL/2 --batch 32 --image-size 32 --steps 5 --warmup 2
    # the modulation and gate gradients summed in passes of their own, not in the LayerNorm's dx pass and the gated
    # residual's dy pass (cuda_norm.cu k_ln_mod_bwd_sums, k_gated_res_bwd_sums: on by default)
    gpu bench_bf16_no_fused_sums 60 "$BK" env DITC_FUSED_SUMS=0 "$B/ditc" bench --device cuda --precision bf16 \
        --model DiT-XL/2 --batch 32 --image-size 32 --steps 5 --warmup 2
    # the block-per-row softmax and LayerNorm with the residual gradient copied, not taken over (the warp-per-row
    # kernels of cuda_attention.cu for T <= 1024 and cuda_norm.cu for D <= 2048, core/ops/autograd.c
    # ditc_grad_take_over: all on by default)
    gpu bench_bf16_block_rows 60 "$BK" env DITC_SOFTMAX_WARP=0 DITC_LN_WARP=0 DITC_GRAD_TAKEOVER=0 "$B/ditc" \
        bench --device cuda --precision bf16 --model DiT-XL/2 --batch 32 --image-size 32 --steps 5 --warmup 2
    # a middle score chunk (64 MiB: 5 images, 7 chunks a layer) in case 24 MiB's 16 chunks of small GEMMs lose to their
    # launches and tails
    gpu bench_bf16_score64 60 "$BK" env DITC_ATTN_SCORE_MB=64 "$B/ditc" bench --device cuda --precision bf16 \
        --model DiT-XL/2 --batch 32 --image-size 32 --steps 5 --warmup 2
    # A/B of the bf16 operands and output gradients written by their producers + the cuBLASLt epilogues (bias, GELU,
    # bias gradient) + AdamW's bf16 weight copy (ops.h, backend_cuda/cuda_gemm_lt.cu, core/tensor/params.h) against F32
    # activations cast in every GEMM, a bias fill read by beta = 1, separate GELU and bias-gradient passes
    OFF=(DITC_BF16_OPERANDS=0 DITC_CUBLASLT=0 DITC_BF16_SHADOW=0 DITC_GELU_EPILOGUE=0 DITC_BGRAD_EPILOGUE=0
         DITC_DGELU_EPILOGUE=0)
    gpu bench_bf16_no_operands 60 "$BK" env "${OFF[@]}" "$B/ditc" \
        bench --device cuda --precision bf16 --model DiT-XL/2 --batch 32 --image-size 32 --steps 5 --warmup 2
    # ... and of the last four alone: the GELU, bias-gradient and GELU-gradient epilogues, the weight copy written by
    # AdamW
    gpu bench_bf16_no_epilogues 60 "$BK" env "${OFF[@]:2}" "$B/ditc" \
        bench --device cuda --precision bf16 --model DiT-XL/2 --batch 32 --image-size 32 --steps 5 --warmup 2
    # the fused fp32 attention kernel at bf16 (DITC_ATTN=fused) instead of the GEMM attention; and tf32 throughout
    gpu bench_bf16_fused_attn 90 "$BK" env DITC_ATTN=fused "$B/ditc" bench --device cuda \
        --precision bf16 "${BENCH[@]}"
    gpu bench_tf32 90 "$BK" "$B/ditc" bench --device cuda --precision tf32 "${BENCH[@]}"
    # where a bf16 step's time goes, per op (DITC_PROFILE=1: the stream is synchronised around every op, so the
    # step itself is slower; the per-op split is what the next tuning needs)
    gpu bench_bf16_profile 60 'ms/step|^    [a-z_]+ +[0-9.]+ \||total' env DITC_PROFILE=1 "$B/ditc" bench --device cuda \
        --precision bf16 --model DiT-XL/2 --batch 32 --image-size 32 --steps 3 --warmup 2
else
    note "-- GPU stages: NOT RUN (no build)"
fi

# ---- packaging ---------------------------------------------------------------------------------------------------------
note "== done in $((SECONDS - START))s: $NFAIL stage(s) failed; logs in logs.tar.gz"
pack
nfiles=$(find "$OUT" -type f | wc -l)
if [ "$nfiles" -gt 8 ] || [ ! -s "$OUT/summary.txt" ] || ! tar -tzf "$OUT/logs.tar.gz" >/dev/null 2>&1; then
    echo "gpu_session.sh: \$OUT holds $nfiles files (at most 8), or summary.txt / logs.tar.gz is broken"
    NFAIL=$((NFAIL + 1))
elif [ "$DRY" = 1 ]; then
    echo "dry run: \$OUT=$OUT holds $nfiles files ($(ls "$OUT" | tr '\n' ' ')); logs.tar.gz has $(tar -tzf "$OUT/logs.tar.gz" | grep -c 'log$') logs"
fi
rm -rf "$WORK"
[ "$NFAIL" -eq 0 ]
