#!/usr/bin/env bash
# fid_vs_pytorch_fid.sh — side-by-side benchmark of `ditc fid` and pytorch-fid 0.3.0 on the same N images (S×S PNG
# files, the full-size FID Inception with random weights from tests/reference/fid_reference.py), same threads:
#  * pytorch-fid: get_activations on the PNG folder (its ImagePathDataset + DataLoader, batch 50, num_workers 0)
#    + np.mean / np.cov, timed inside the reference script (model construction excluded);
#  * ditc: `ditc fid --save-stats` on the same folder (PNG decode + Inception + float64 stats; weights loading
#    included) and on the .npz batch of the same images (no decode);
#  * the Fréchet distance of two 2048-d statistics: scipy's sqrtm (pytorch-fid) vs ditc's two dsyevd;
#  * parity of the run: ditc's mu/sigma vs pytorch-fid's (relative, same images, same weights).
#
# usage: bash scripts/bench/fid_vs_pytorch_fid.sh [n=10000] [threads=2] [side=256]
# Prereqs: ./build/ditc (Release); /usr/bin/python3 with torch, torchvision, scipy, pytorch-fid (install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
n="${1:-10000}"; threads="${2:-2}"; side="${3:-256}"
export OMP_NUM_THREADS="$threads" OMP_WAIT_POLICY=PASSIVE
PY=/usr/bin/python3
REF=tests/reference/fid_reference.py
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ditc-fid-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); threads=$threads" \
     "n=$n side=${side}x${side}; load average $(cut -d' ' -f1-3 /proc/loadavg)"
$PY "$REF" make --out "$TMP/ref" --width-div 1 --seed 7 --sets "a:$n:${side}x${side}:0" --png --time --no-fid 2>/dev/null |
    grep '^pytorch-fid'
W=$TMP/ref/inception.safetensors
t0=$(date +%s.%N)
./build/ditc fid --save-stats "$TMP/png.npz" "$TMP/ref/a" --inception "$W" --threads "$threads" --batch 50 | grep '^A:'
t1=$(date +%s.%N)
echo "ditc (PNG folder, wall incl. loading): $(echo "$t1 - $t0" | bc -l | xargs printf '%.2f') s," \
     "$(echo "$n / ($t1 - $t0)" | bc -l | xargs printf '%.2f') images/s"
./build/ditc fid --save-stats "$TMP/npz.npz" "$TMP/ref/a.npz" --inception "$W" --threads "$threads" --batch 50 | grep '^A:'
$PY "$REF" compare-stats --ref "$TMP/ref/a.stats.npz" --got "$TMP/png.npz" --tol 1e-4 || true
# Fréchet distance of two 2048-d statistics (the image statistics and a perturbed copy, full rank)
$PY - "$TMP/ref/a.stats.npz" "$TMP/s1.npz" "$TMP/s2.npz" <<'PYEOF'
import sys
import numpy as np
rng = np.random.default_rng(0)
with np.load(sys.argv[1]) as f:
    mu = f['mu']
d = mu.shape[0]
for path, shift in ((sys.argv[2], 0.0), (sys.argv[3], 0.1)):
    x = rng.standard_normal((d + 500, d)) * 0.3 + mu + shift
    np.savez(path, mu=x.mean(0), sigma=np.cov(x, rowvar=False))
PYEOF
$PY "$REF" frechet "$TMP/s1.npz" "$TMP/s2.npz" 2>&1 | sed 's/^\([0-9]\)/pytorch-fid FID: \1/'
t0=$(date +%s.%N)
./build/ditc fid "$TMP/s1.npz" "$TMP/s2.npz" --threads "$threads" | grep '^FID'
t1=$(date +%s.%N)
echo "ditc Fréchet distance (2048-d, wall incl. reading 2 × 32 MB): $(echo "$t1 - $t0" | bc -l | xargs printf '%.2f') s"
