#!/usr/bin/env bash
# test.sh — the test command of the README (and of CI): installs dependencies, then
#   1. Release build with -Werror, full ctest suite;
#   2. AddressSanitizer + UndefinedBehaviorSanitizer build, full ctest suite;
#   3. clang build with the libFuzzer targets, fuzzing the safetensors and torch.save readers for DITC_FUZZ_SECONDS
#      (60) each, side by side;
#   4. with the CUDA toolkit: the CUDA + MPI + NCCL build (compile only), the gpu tests on the CPU emulation of a
#      device (tests/cuda_emu) at toy sizes, and the parity suite's kernels there under ThreadSanitizer.
# Build trees go to build-test/ (override with DITC_TEST_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --tests

out="${DITC_TEST_DIR:-build-test}"
jobs="$(nproc)"
fuzz_seconds="${DITC_FUZZ_SECONDS:-60}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
# ctest runs tests in parallel on few cores: spinning OpenMP workers would steal each other's cores.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"

step() { printf '\n==== %s ====\n' "$*"; }

step "release build (gcc, -Werror, MPI)"
cmake -S . -B "$out/release" -DCMAKE_BUILD_TYPE=Release -DDITC_WERROR=ON -DDITC_MPI=ON >/dev/null
cmake --build "$out/release" -j "$jobs"
(cd "$out/release" && ctest --output-on-failure -j "$jobs")

step "ASan + UBSan build"
cmake -S . -B "$out/asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDITC_SANITIZE=ON -DDITC_WERROR=ON >/dev/null
cmake --build "$out/asan" -j "$jobs"
(cd "$out/asan" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
   ctest --output-on-failure -j "$jobs")

step "clang build + libFuzzer on the safetensors and torch.save readers (${fuzz_seconds} s, in parallel)"
CC=clang cmake -S . -B "$out/fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDITC_FUZZ=ON -DDITC_WERROR=ON \
  -DDITC_FUZZ_SECONDS="$fuzz_seconds" >/dev/null
cmake --build "$out/fuzz" -j "$jobs"
(cd "$out/fuzz" && ctest --output-on-failure -V -R fuzz -j 2 > fuzz-ctest.log) || { tail -50 "$out/fuzz/fuzz-ctest.log"; exit 1; }
grep -E 'stat::number_of_executed_units|stat::peak_rss|Done [0-9]+ runs|tests passed' "$out/fuzz/fuzz-ctest.log"

nccl_h=""  # NCCL's header beside the CUDA toolkit's, if both are here
command -v nvcc >/dev/null && nccl_h="$(dirname "$(dirname "$(command -v nvcc)")")/include/nccl.h"
if [ -n "$nccl_h" ] && [ -f "$nccl_h" ]; then
  step "compile only: CUDA + MPI + NCCL configuration (no GPU needed)"
  cmake -S . -B "$out/cuda" -DCMAKE_BUILD_TYPE=Release -DDITC_CUDA=ON -DDITC_MPI=ON -DDITC_NCCL=ON -DDITC_WERROR=ON >/dev/null
  cmake --build "$out/cuda" -j "$jobs" --target ditc test_gpu_parity
else
  step "no CUDA toolkit with NCCL here: the CUDA/NCCL compile stage is skipped"
fi
if command -v nvcc >/dev/null; then
  # the CUDA backend's kernels and host code run on the CPU emulation of a device (tests/cuda_emu; g++ and the
  # toolkit's headers): the gpu-labelled tests at toy sizes. Not a GPU run: no speed, no hardware-only faults.
  step "the CUDA backend on the CPU emulation of a device (tests/cuda_emu): the gpu tests at toy sizes"
  # (with NCCL's header: comm_nccl.cu too, on the emulation's NCCL over MPI — test_gpu_train's nccl stage)
  emu_nccl=OFF
  [ -f "$nccl_h" ] && emu_nccl=ON
  cmake -S . -B "$out/cuda-emu" -DCMAKE_BUILD_TYPE=Release -DDITC_CUDA_EMU=ON -DDITC_MPI=ON -DDITC_NCCL=$emu_nccl \
    -DDITC_WERROR=ON >/dev/null
  cmake --build "$out/cuda-emu" -j "$jobs" --target ditc test_gpu_parity st_compare
  # the same kernels under ThreadSanitizer (-DDITC_CUDA_EMU_RACECHECK): a data race between two GPU threads of a
  # block — shared or global memory, a read and a write or two writes no barrier orders — fails, whether or not it
  # changed a result (compute-sanitizer's racecheck, on the CPU): the parity suite's toy shapes, and `ditc check`
  # of the small DiT, hd-72 and Large-DiT configs at fp32/bf16/flash (~2.5 min)
  cmake -S . -B "$out/cuda-emu-race" -DCMAKE_BUILD_TYPE=Release -DDITC_CUDA_EMU=ON -DDITC_CUDA_EMU_RACECHECK=ON \
    -DDITC_WERROR=ON >/dev/null
  cmake --build "$out/cuda-emu-race" -j "$jobs" --target ditc test_gpu_parity st_compare
  # both test sets side by side (the race check's two are single-threaded; the emulated stage's long one, the
  # training test, leaves a core idle most of its time), each ctest's output after both have finished
  step "running: the gpu tests on the emulated device, and the same kernels under ThreadSanitizer"
  (cd "$out/cuda-emu" && ctest --output-on-failure -L '^gpu$' -j "$jobs" >ctest-gpu.log 2>&1) &
  emu_pid=$!
  (cd "$out/cuda-emu-race" && ctest --output-on-failure -L '^gpu$' -j "$jobs" >ctest-gpu.log 2>&1) &
  race_pid=$!
  emu_rc=0 race_rc=0
  wait "$emu_pid" || emu_rc=$?
  wait "$race_pid" || race_rc=$?
  step "the gpu tests on the emulated device (exit $emu_rc)"
  cat "$out/cuda-emu/ctest-gpu.log"
  step "the emulated kernels under ThreadSanitizer: data races between GPU threads (exit $race_rc)"
  cat "$out/cuda-emu-race/ctest-gpu.log"
  if [ "$emu_rc" != 0 ] || [ "$race_rc" != 0 ]; then
    echo "test.sh: the emulated gpu tests failed (exit $emu_rc), or the race check did (exit $race_rc)"
    exit 1
  fi
fi

step "all test stages passed"
