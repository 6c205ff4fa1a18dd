#!/usr/bin/env bash
# vs_pytorch.sh — side-by-side training-step benchmark: `ditc bench` and the reference PyTorch DiT step,
# alternating on the same machine with the same threads, medians and the ratio (shared/spec/performance.md).
#
# usage: DIT_REF=/path/to/facebookresearch/DiT TIMM_PATH=/path/with/timm bash scripts/bench/vs_pytorch.sh \
#          [rounds=3] [threads=2] [models="DiT-S/8 DiT-S/2"] [batch=8]
# A model named `demo` is the built-in demo's config (DiT-S/4, depth 4, width 128, 4 heads, 1x28x28, 10
# classes); `ldit-tiny` a small Large-DiT (LDiT-600M's block at depth 4, width 256, 4 heads, patch 2, 32x32x4),
# `ldit-demo` a Large-DiT of the demo's shape (depth 4, width 128, 4 heads, patch 4, 1x28x28, 10 classes) — their
# peer is scripts/bench/ldit_pytorch_peer.py; every other name is a named model at latent 32x32x4. DITC_BIN picks the ditc binary
# (default ./build/ditc), for before/after runs of two builds.
# Prereqs: /usr/bin/python3 with torch (Debian python3-torch) and numpy; timm on TIMM_PATH
# (`pip install --no-deps --target "$TIMM_PATH" timm`); a checkout of facebookresearch/DiT at DIT_REF;
# ./build/ditc built in Release.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds="${1:-3}"; threads="${2:-2}"; models="${3:-DiT-S/8 DiT-S/2}"; batch="${4:-8}"
: "${DIT_REF:?set DIT_REF to a facebookresearch/DiT checkout}"
export OMP_NUM_THREADS="$threads" PYTHONPATH="${TIMM_PATH:-}${PYTHONPATH:+:$PYTHONPATH}"
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ditc="${DITC_BIN:-./build/ditc}"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); threads=$threads batch=$batch"
"$ditc" info --threads "$threads" | tail -1
for m in $models; do
  d=(); p=(); peer=(scripts/bench/run_pytorch_peer.py)
  if [ "$m" = ldit-tiny ] || [ "$m" = ldit-demo ]; then
    peer=(scripts/bench/ldit_pytorch_peer.py)
    if [ "$m" = ldit-tiny ]; then shape=(--depth 4 --hidden-size 256 --num-heads 4); side=32
    else shape=(--depth 4 --hidden-size 128 --num-heads 4 --patch-size 4 --channels 1 --num-classes 10); side=28; fi
    dargs=(--model LDiT-600M "${shape[@]}" --image-size "$side"); pargs=("${shape[@]}" --latent "$side")
  elif [ "$m" = demo ]; then
    shape=(--model DiT-S/4 --depth 4 --hidden-size 128 --num-heads 4 --channels 1 --num-classes 10)
    dargs=("${shape[@]}" --image-size 28); pargs=("${shape[@]}" --latent 28)
  else
    dargs=(--model "$m"); pargs=(--model "$m" --latent 32)
  fi
  for r in $(seq "$rounds"); do
    d+=("$("$ditc" bench "${dargs[@]}" --batch "$batch" --threads "$threads" --steps 5 --gemm-size 256 | awk '/ms\/step/ {for (i=1;i<=NF;i++) if ($i=="ms/step") print $(i-1)/1000}')")
    p+=("$(/usr/bin/python3 "${peer[@]}" "${pargs[@]}" --batch "$batch" --steps 5 | sed -n 's/.*s_per_step=\([0-9.]*\).*/\1/p')")
    echo "  $m round $r: ditc ${d[-1]} s/step, pytorch ${p[-1]} s/step"
  done
  md=$(printf '%s\n' "${d[@]}" | median); mp=$(printf '%s\n' "${p[@]}" | median)
  awk -v m="$m" -v b="$batch" -v d="$md" -v p="$mp" 'BEGIN {printf "%s batch %d: ditc median %.3f s/step (%.2f img/s), PyTorch median %.3f s/step (%.2f img/s), speed-up %.2fx\n", m, b, d, b/d, p, b/p, p/d}'
done
