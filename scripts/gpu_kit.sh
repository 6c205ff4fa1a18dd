#!/usr/bin/env bash
# gpu_kit.sh — run HERE (Debian 12 with apt), not on the GPU machine: fills the ignored folder .gpu-kit/ with what
# scripts/gpu_session.sh needs on the lent GPU machine, which has nvcc, cmake, ninja, gcc and a python3 venv with
# torch + timm, but no OpenBLAS/libpng/libjpeg/zlib development files and no network:
#   root/        Debian packages unpacked with `apt-get download` + `dpkg -x` (docs, man pages, static libraries,
#                LAPACK and the reference BLAS removed): OpenBLAS (openmp) + -dev, libgfortran5 + libquadmath0
#                (OpenBLAS needs them), libpng16 + -dev, libjpeg62-turbo + -dev, zlib1g + -dev;
#   fallback/    libgomp.so.1 (OpenBLAS needs it), put on LD_LIBRARY_PATH only where the machine has none;
#   DiT/         facebookresearch/DiT (models.py, diffusion/, ... without visuals/) for the PyTorch peer;
#   pytorch_dit_step.py  the peer script (a copy of ../shared/tools/pytorch_dit_step.py: ../shared does not travel);
#   MANIFEST.txt package versions, DiT commit, the newest glibc symbol the libraries need, sizes.
# Everything a device call carries (the checkout plus carried paths) must stay within 64 MiB: the size is printed
# and checked. Never commit the kit (.gitignore has it) or DiT's code.
# Use:  bash scripts/gpu_kit.sh                 (then the device call: run(command="bash scripts/gpu_session.sh",
#                                                 carry=[".gpu-kit"]))
# Env:  DITC_GPU_KIT (default .gpu-kit), DIT_GIT (a bare git dir of facebookresearch/DiT; default the fetch
#       tool's mirror /work/.mirror/facebookresearch+DiT/repo), PEER_SCRIPT (default ../shared/tools/pytorch_dit_step.py).
set -euo pipefail
cd "$(dirname "$0")/.."
KIT=${DITC_GPU_KIT:-.gpu-kit}
DIT_GIT=${DIT_GIT:-/work/.mirror/facebookresearch+DiT/repo}
PEER_SCRIPT=${PEER_SCRIPT:-../shared/tools/pytorch_dit_step.py}
LIMIT=$((64 * 1024 * 1024))
PKGS=(libopenblas0-openmp libopenblas-openmp-dev libgfortran5 libquadmath0 libgomp1 libpng16-16 libpng-dev
      libjpeg62-turbo libjpeg62-turbo-dev zlib1g zlib1g-dev)
ARCH_DIR=usr/lib/x86_64-linux-gnu

command -v apt-get >/dev/null && command -v dpkg >/dev/null || { echo "gpu_kit.sh: needs apt-get and dpkg (Debian)"; exit 1; }
[ -f "$PEER_SCRIPT" ] || { echo "gpu_kit.sh: $PEER_SCRIPT not found (PEER_SCRIPT=...)"; exit 1; }
git --git-dir="$DIT_GIT" rev-parse --verify -q HEAD >/dev/null ||
    { echo "gpu_kit.sh: $DIT_GIT is not a git dir of facebookresearch/DiT (get it with the fetch tool, or set DIT_GIT)"; exit 1; }

rm -rf "$KIT"
mkdir -p "$KIT/root" "$KIT/fallback" "$KIT/DiT"
DEBS=$(mktemp -d)
trap 'rm -rf "$DEBS"' EXIT
echo "== apt-get download: ${PKGS[*]}"
if ! (cd "$DEBS" && apt-get download "${PKGS[@]}" >/dev/null 2>&1); then
    echo "(package lists stale: apt-get update)"
    apt-get update >/dev/null
    (cd "$DEBS" && apt-get download "${PKGS[@]}")
fi
: >"$KIT/MANIFEST.txt"
for deb in "$DEBS"/*.deb; do
    dpkg -x "$deb" "$KIT/root"
    printf '%-28s %s\n' "$(dpkg-deb -f "$deb" Package)" "$(dpkg-deb -f "$deb" Version)" >>"$KIT/MANIFEST.txt"
done

R=$KIT/root
# usrmerge: zlib1g and others ship /lib/x86_64-linux-gnu; keep one tree under usr/ and relative links only
if [ -d "$R/lib" ]; then
    mkdir -p "$R/$ARCH_DIR"
    cp -a "$R/lib/x86_64-linux-gnu/." "$R/$ARCH_DIR/"
    rm -rf "$R/lib"
fi
find "$R" -type l | while read -r l; do
    t=$(readlink "$l")
    case $t in /*) ln -sfn "$(basename "$t")" "$l" ;; esac # e.g. libz.so -> /lib/x86_64-linux-gnu/libz.so.1.2.13
done
# what the build does not need
rm -rf "$R/usr/share" "$R/usr/bin" "$R/etc"
find "$R" \( -name '*.a' -o -name '*.la' \) -delete
rm -f "$R/$ARCH_DIR"/openblas-openmp/liblapack.so* "$R/$ARCH_DIR"/openblas-openmp/libblas.so*
find "$R" -xtype l -delete # links whose targets were removed (libblas.a -> libopenblas.a, ...)
# libgomp: only where the machine has none (an older libgomp ahead of the system's could break newer code)
mv "$R/$ARCH_DIR"/libgomp.so.1* "$KIT/fallback/"

echo "== DiT (for the PyTorch peer), without visuals/"
git --git-dir="$DIT_GIT" archive HEAD | tar -x -C "$KIT/DiT" --exclude='visuals'
printf 'facebookresearch/DiT         %s\n' "$(git --git-dir="$DIT_GIT" rev-parse HEAD)" >>"$KIT/MANIFEST.txt"
cp "$PEER_SCRIPT" "$KIT/pytorch_dit_step.py"
printf 'pytorch_dit_step.py          sha256 %s\n' "$(sha256sum "$KIT/pytorch_dit_step.py" | cut -c1-16)" >>"$KIT/MANIFEST.txt"

# checks: the files the session needs, the newest glibc symbol version the libraries need
need=("$R/$ARCH_DIR/openblas-openmp/libopenblas.so" "$R/$ARCH_DIR/openblas-openmp/libopenblas.so.0"
      "$R/usr/include/x86_64-linux-gnu/openblas-openmp/cblas.h" "$R/$ARCH_DIR/libpng16.so" "$R/usr/include/png.h"
      "$R/$ARCH_DIR/libjpeg.so" "$R/usr/include/jpeglib.h" "$R/usr/include/x86_64-linux-gnu/jconfig.h"
      "$R/$ARCH_DIR/libz.so" "$R/usr/include/zlib.h" "$R/$ARCH_DIR/libgfortran.so.5" "$R/$ARCH_DIR/libquadmath.so.0"
      "$KIT/fallback/libgomp.so.1" "$KIT/DiT/models.py" "$KIT/DiT/diffusion/__init__.py")
for f in "${need[@]}"; do [ -e "$f" ] || { echo "gpu_kit.sh: missing $f"; exit 1; }; done
glibc=$(find "$R" "$KIT/fallback" -name '*.so*' -type f -exec objdump -T {} + 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -Vu | tail -n 1)
echo "${glibc:-GLIBC_?}" >"$KIT/GLIBC_NEEDED"
kit=$(du -sb "$KIT" | cut -f1)
tree=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -n 1 | cut -f1)
printf 'newest glibc symbol needed   %s\nkit bytes                    %s\n' "${glibc:-?}" "$kit" >>"$KIT/MANIFEST.txt"
echo "== .gpu-kit: $((kit / 1024)) KiB ($(find "$KIT" -type f | wc -l) files, $(find "$KIT" -type l | wc -l) relative links);" \
     "checkout $((tree / 1024)) KiB; together $(((kit + tree) / 1024)) KiB of the $((LIMIT / 1024)) KiB a device call carries"
cat "$KIT/MANIFEST.txt"
if [ $((kit + tree)) -gt $((LIMIT - 4 * 1024 * 1024)) ]; then
    echo "gpu_kit.sh: the kit and the checkout exceed 60 MiB (4 MiB kept free for untracked files)"
    exit 1
fi
echo "ok: carry it with run(command=\"bash scripts/gpu_session.sh\", carry=[\"$KIT\"])"
