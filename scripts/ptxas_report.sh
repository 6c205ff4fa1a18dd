#!/usr/bin/env bash
# ptxas_report.sh [ARCH] [FILE.cu ...] — registers, stack frame and spills of every CUDA kernel (nvcc -Xptxas -v),
# one line per kernel; needs nvcc only (no GPU). Default: sm_90, every backend_cuda/*.cu. Exit 1 if any kernel
# spills.  Example: bash scripts/ptxas_report.sh 80 backend_cuda/cuda_attention.cu
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${1:-90}
[ $# -gt 0 ] && shift
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(backend_cuda/*.cu)
report=$(for f in "${files[@]}"; do
    nvcc -arch="sm_$arch" -O3 -std=c++17 -Icore/util -Icore/tensor -Ibackend_cuda -Icomm -Xptxas -v -c "$f" -o /dev/null 2>&1 |
        awk '/Compiling entry function/ { match($0, /'"'"'[^'"'"']+'"'"'/); k = substr($0, RSTART + 1, RLENGTH - 2) }
             /bytes stack frame/ { st = $1; ss = $5; sl = $9 }
             /Used [0-9]+ registers/ { for (i = 1; i <= NF; i++) if ($i == "Used") r = $(i + 1);
                                       print k, r, st + 0, ss + 0, sl + 0; st = ss = sl = 0 }'
done | while read -r k r st ss sl; do
    printf '%-28s sm_%s  regs %3d  stack %5d  spill stores %5d  loads %5d\n' \
        "$(echo "$k" | c++filt | sed 's/(.*//; s/^void //; s/, /,/g')" "$arch" "$r" "$st" "$ss" "$sl"
done | sort)
echo "$report"
# (the counts are found by their labels: a template kernel's name may hold spaces)
! echo "$report" | grep -qE 'spill stores +[1-9][0-9]* |loads +[1-9]'
