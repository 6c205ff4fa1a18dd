#!/usr/bin/env bash
# kernel_coverage.sh [BUILD_DIR] — which CUDA kernel instantiations the parity suite's toy shapes never run.
# Builds the CUDA backend for the CPU emulation of the device (tests/cuda_emu) with gcov instrumentation, runs
# `test_gpu_parity --small`, and lists every kernel template instantiation (k_*<...>) whose entry count is 0, from
# gcov's JSON (per instantiation, unlike its line counts). The parity suite fails when a backend *entry* has no case;
# this finds the dtype or head-width variants of an entry that no case reaches. It also lists, for information, the
# backend_cuda lines no case runs (error paths, edge cases). Needs g++, gcov and the CUDA
# toolkit's headers; no GPU. ~3 min on 2 cores. Exit 1 if some instantiation never runs.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-kernel-coverage}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DDITC_CUDA_EMU=ON -DDITC_NATIVE=OFF -DCMAKE_CXX_FLAGS="--coverage -O0" \
    -DCMAKE_EXE_LINKER_FLAGS=--coverage >/dev/null
cmake --build "$build" -j "$(nproc)" --target test_gpu_parity >/dev/null
find "$build" -name '*.gcda' -delete
(cd "$build" && CUEMU_PROTECT=0 ./test_gpu_parity --small >parity.log 2>&1) ||
    { tail -n 5 "$build/parity.log"; echo "kernel_coverage.sh: test_gpu_parity failed"; exit 1; }
objs="$build/CMakeFiles/ditc_backend_cuda.dir/cuemu"
(cd "$objs" && rm -f ./*.gcov.json.gz && for f in *.gcda; do gcov --json-format -o . "$f" >/dev/null 2>&1; done)
python3 - "$objs" <<'EOF'
import glob, gzip, json, os, sys
seen, lines = {}, {}
for f in glob.glob(os.path.join(sys.argv[1], '*.gcov.json.gz')):
    for fi in json.load(gzip.open(f))['files']:
        for fn in fi.get('functions', []):
            name = (fn.get('demangled_name') or fn['name']).split('(')[0]
            if name.startswith(('k_', 'void k_')):
                seen[name] = seen.get(name, 0) + fn['execution_count']
        src = os.path.basename(fi['file'])
        if src.endswith('.cu'):
            for l in fi['lines']:
                key = (src, l['line_number'])
                lines[key] = lines.get(key, 0) + l['count']
# (information: the backend_cuda lines never run — error paths, edge cases — by file)
by_file = {}
for (src, n), c in sorted(lines.items()):
    if c == 0:
        by_file.setdefault(src, []).append(n)
for src, ns in sorted(by_file.items()):
    print(f'lines never run in {src}: {" ".join(map(str, ns))}')
never = sorted(n for n, c in seen.items() if c == 0)
for n in never:
    print('never run:', n)
print(f'{len(seen)} kernel instantiations, {len(never)} never run by test_gpu_parity --small')
sys.exit(1 if never else 0)
EOF
