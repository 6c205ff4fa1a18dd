#!/usr/bin/env bash
# sample_vs_pytorch.sh — sampling images/s: `ditc sample --npz` and the reference PyTorch sampling loop
# (scripts/bench/sample_pytorch_peer.py, i.e. tests/reference/sampler_reference.py, DiT's p_sample_loop +
# forward_with_cfg) on the same random-weight checkpoint, alternating rounds, same threads; medians and the ratio.
# Default model: Fashion-MNIST-sized DiT (depth 4, hidden 128, 2 heads, 28x28x1, patch 2, 10 classes), 50 DDPM
# steps, cfg 1.5 (the CFG batch is 2 x batch), batch 64. ditc's figure is its own "img/s" over the sampling run
# (after the weights are loaded; includes the uint8 conversion and the .npz write); PyTorch's is timed the same
# way around the loop and the uint8 conversion.
#
# usage: bash scripts/bench/sample_vs_pytorch.sh [rounds=3] [threads=2] [batch=64] [steps=50] [cfg=1.5]
# Prereqs: /usr/bin/python3 with torch and numpy; ./build/ditc built in Release.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds="${1:-3}"; threads="${2:-2}"; batch="${3:-64}"; steps="${4:-50}"; cfg="${5:-1.5}"
export OMP_NUM_THREADS="$threads"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
/usr/bin/python3 tests/reference/dit_reference.py save-torch --out "$tmp/w.safetensors" --depth 4 --hidden 128 \
  --heads 2 --patch 2 --channels 1 --side 28 --classes 10 --seed 0 >/dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); threads=$threads"
echo "model: DiT depth 4, hidden 128, 2 heads, 28x28x1, patch 2; $steps DDPM steps, cfg $cfg, batch $batch"
d=(); p=()
for r in $(seq "$rounds"); do
  rm -f "$tmp/s.npz"
  d+=("$(./build/ditc sample --ckpt "$tmp/w.safetensors" --num-heads 2 --threads "$threads" --npz "$tmp/s.npz" \
    --num-samples "$batch" --batch "$batch" --num-sampling-steps "$steps" --cfg-scale "$cfg" 2>&1 >/dev/null |
    sed -n 's/.*, \([0-9.]*\) img\/s.*/\1/p' | tail -1)")
  p+=("$(/usr/bin/python3 scripts/bench/sample_pytorch_peer.py --weights "$tmp/w.safetensors" --heads 2 \
    --threads "$threads" --batch "$batch" --steps "$steps" --cfg-scale "$cfg" | sed -n 's/.*img_per_s=\([0-9.]*\).*/\1/p')")
  echo "  round $r: ditc ${d[-1]} img/s, pytorch ${p[-1]} img/s"
done
md=$(printf '%s\n' "${d[@]}" | median); mp=$(printf '%s\n' "${p[@]}" | median)
awk -v d="$md" -v p="$mp" 'BEGIN {printf "median: ditc %.2f img/s, PyTorch %.2f img/s, ditc/PyTorch %.2fx\n", d, p, d/p}'
