#!/usr/bin/env bash
# gpu_kit.sh — run HERE (a Debian machine with network) before a device session: fills .gpu-kit/ (git-ignored)
# with what the lent GPU machine lacks and cannot download (it has nvcc, cmake, ninja, gcc and a python3 with
# torch + timm, but no Debian -dev libraries and no network):
#   .gpu-kit/root.tar.gz OpenBLAS (OpenMP), libpng, libjpeg-turbo, zlib with their -dev parts, libgfortran,
#                        unpacked from Debian's packages with dpkg -x (docs, man pages, static archives removed),
#                        packed; gpu_session.sh unpacks it into .gpu-kit/root/ on the device
#   .gpu-kit/DiT/        facebookresearch/DiT's models.py + diffusion/ (the PyTorch peer's model; never committed)
#   .gpu-kit/pytorch_dit_step.py   the peer timing script (../shared does not travel to the device)
#   .gpu-kit/MANIFEST    what is in it, package versions, sizes
# Then: the device tool's `run` with carry [".gpu-kit"] and command `bash scripts/gpu_session.sh`.
# DIT_SRC=DIR takes the DiT checkout from DIR instead of cloning it (a local mirror, e.g. the search tool's fetch).
set -euo pipefail
cd "$(dirname "$0")/.."
KIT=.gpu-kit
PKGS=(libopenblas0-openmp libopenblas-openmp-dev libgfortran5 libpng16-16 libpng-dev libjpeg62-turbo
      libjpeg62-turbo-dev zlib1g zlib1g-dev)
rm -rf "$KIT"
mkdir -p "$KIT/root" "$KIT/debs"
(cd "$KIT/debs" && apt-get download "${PKGS[@]}" >/dev/null 2>&1) || {
    echo "gpu_kit: apt-get download ${PKGS[*]} failed (needs Debian's package lists: apt-get update)" >&2
    exit 1
}
for d in "$KIT"/debs/*.deb; do dpkg -x "$d" "$KIT/root"; done
{
    echo "ditc GPU kit, made $(date -u '+%Y-%m-%d %H:%M UTC') on $(. /etc/os-release && echo "$PRETTY_NAME")"
    for d in "$KIT"/debs/*.deb; do dpkg-deb -f "$d" Package Version | paste -sd ' '; done
} >"$KIT/MANIFEST"
rm -rf "$KIT/debs"
# Only what building and running ditc needs: no docs, man pages, static archives or pkg-config tooling.
rm -rf "$KIT/root/usr/share"
find "$KIT/root" -name '*.a' -delete
rm -f "$KIT"/root/usr/lib/x86_64-linux-gnu/openblas-openmp/lib{blas,lapack}.so* # ditc links libopenblas only
# Absolute links (zlib's libz.so -> /lib/...) would point outside the kit on the device: make them relative.
find "$KIT/root" -type l -lname '/*' | while read -r l; do
    t=$(readlink "$l")
    ln -sfn "$(realpath --relative-to="$(dirname "$l")" "$KIT/root$t")" "$l"
done
# Debian selects the BLAS through update-alternatives, which dpkg -x does not run: the plain libopenblas names
# point into the OpenMP variant's folder here.
LIB=$KIT/root/usr/lib/x86_64-linux-gnu
for f in libopenblas.so libopenblas.so.0; do
    [ -e "$LIB/openblas-openmp/$f" ] && ln -sfn "openblas-openmp/$f" "$LIB/$f"
done
[ -e "$LIB/openblas-openmp/libopenblas.so.0" ] && ln -sfn libopenblas.so.0 "$LIB/libopenblas.so" # the dev link
mkdir -p "$KIT/DiT"
if [ -n "${DIT_SRC:-}" ]; then
    if [ -d "$DIT_SRC/.git" ] || [ -f "$DIT_SRC/HEAD" ]; then
        git --git-dir="$( [ -d "$DIT_SRC/.git" ] && echo "$DIT_SRC/.git" || echo "$DIT_SRC")" archive HEAD models.py diffusion |
            tar -x -C "$KIT/DiT"
    else
        cp -r "$DIT_SRC/models.py" "$DIT_SRC/diffusion" "$KIT/DiT/"
    fi
else
    git clone -q --depth 1 https://github.com/facebookresearch/DiT "$KIT/DiT.git"
    (cd "$KIT/DiT.git" && git archive HEAD models.py diffusion) | tar -x -C "$KIT/DiT"
    rm -rf "$KIT/DiT.git"
fi
echo "facebookresearch/DiT: $(ls "$KIT/DiT" | paste -sd ' ')" >>"$KIT/MANIFEST"
PEER=${DITC_PEER:-../shared/tools/pytorch_dit_step.py}
if [ -f "$PEER" ]; then
    cp "$PEER" "$KIT/pytorch_dit_step.py"
    echo "pytorch_dit_step.py from $PEER" >>"$KIT/MANIFEST"
else
    echo "gpu_kit: $PEER not found (set DITC_PEER): the device session will skip the PyTorch comparison" >&2
fi
# The libraries travel packed (OpenBLAS alone is 35 MB unpacked); gpu_session.sh unpacks them on the device.
tar -C "$KIT" -czf "$KIT/root.tar.gz" root
rm -rf "$KIT/root"
size=$(du -sm "$KIT" | cut -f1)
echo "size: ${size} MiB (the device tool carries at most 64 MiB with the checkout)" >>"$KIT/MANIFEST"
cat "$KIT/MANIFEST"
if [ "$size" -gt 40 ]; then
    echo "gpu_kit: ${size} MiB leaves too little of the 64 MiB carry limit for the checkout" >&2
    exit 1
fi
