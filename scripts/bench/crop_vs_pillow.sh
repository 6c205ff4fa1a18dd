#!/usr/bin/env bash
# crop_vs_pillow.sh — data-loading throughput, one core each: ditc (tests/bench_crop.c: read + decode +
# center_crop_arr(S) + horizontal flip of every JPEG) against Pillow doing the same
# (Image.open(p).convert("RGB") + guided-diffusion center_crop_arr + np.fliplr, materialised), on the same
# ~ImageNet-like JPEGs (about 500x375, photo-like content, quality 90), alternating rounds; medians and ratio.
#
# usage: bash scripts/bench/crop_vs_pillow.sh [rounds=3] [n_images=200] [S=256] [bench_crop binary]
# Without a binary, bench_crop is compiled here with ${CC:-cc} -O3 -march=native (the default ditc build).
# Prereqs: /usr/bin/python3 with Pillow and numpy (Debian python3-pil, python3-numpy); libjpeg-turbo, libpng.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds="${1:-3}"; n="${2:-200}"; S="${3:-256}"; bin="${4:-}"
PY=/usr/bin/python3
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ditc_crop_bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

if [ -z "$bin" ]; then
  bin="$tmp/bench_crop"
  ${CC:-cc} -std=c17 -O3 -march=native -ffp-contract=off -fno-math-errno -fno-trapping-math \
    -D_POSIX_C_SOURCE=200809L -I core/util -I core/data tests/bench_crop.c core/data/image_decode.c core/data/image_resize.c \
    core/data/center_crop.c core/util/common.c -ljpeg -lpng -lz -lm -o "$bin"
fi

# ImageNet-like JPEGs: mostly 500x375, some 375x500 and 500x333; smooth gradients + blobs + texture + noise.
"$PY" - "$tmp/jpg" "$n" <<'PY'
import os, sys
sys.path.insert(0, "tests/reference")
from pillow_crop import photo_like
from PIL import Image
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d)
for i in range(n):
    w, h = [(500, 375), (500, 375), (500, 375), (375, 500), (500, 333)][i % 5]
    Image.fromarray(photo_like(w, h, 1000 + i)).save(f"{d}/img{i:04d}.jpg", quality=90)
PY

cat >"$tmp/pillow_crop_bench.py" <<'PY'
import glob, sys, time
import numpy as np
from PIL import Image
sys.path.insert(0, "tests/reference")
from pillow_crop import center_crop_arr  # the reference's center_crop_arr, as the exactness test uses

files, S = sorted(glob.glob(sys.argv[1] + "/*.jpg")), int(sys.argv[2])
best = 1e30
for _ in range(3):
    t0 = time.perf_counter()
    for f in files:
        with Image.open(f) as im:
            a = np.ascontiguousarray(np.fliplr(center_crop_arr(im.convert("RGB"), S)))
    best = min(best, time.perf_counter() - t0)
print(f"pillow: {len(files)} images, best of 3 passes {best:.3f} s, {len(files) / best:.1f} images/s")
PY

pin=""; command -v taskset >/dev/null && pin="taskset -c 0"
echo "machine: $(nproc --all) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $n JPEGs (q90, ~500x375, $(du -sh "$tmp/jpg" | cut -f1)), S=$S, 1 thread each"
echo "Pillow $("$PY" -c 'import PIL; from PIL import features; print(PIL.__version__, "with libjpeg-turbo", features.version_feature("libjpeg_turbo"))')"
d=(); p=()
for r in $(seq "$rounds"); do
  d+=("$($pin "$bin" "$tmp/jpg" "$S" 3 | sed -n 's/.* \([0-9.]*\) images\/s.*/\1/p')")
  p+=("$($pin "$PY" "$tmp/pillow_crop_bench.py" "$tmp/jpg" "$S" | sed -n 's/.* \([0-9.]*\) images\/s.*/\1/p')")
  echo "  round $r: ditc ${d[-1]} images/s, Pillow ${p[-1]} images/s"
done
md=$(printf '%s\n' "${d[@]}" | median); mp=$(printf '%s\n' "${p[@]}" | median)
awk -v d="$md" -v p="$mp" 'BEGIN {printf "decode + center_crop_arr + flip: ditc median %.1f images/s, Pillow median %.1f images/s, ditc/Pillow %.2fx\n", d, p, d / p}'
