#!/usr/bin/env bash
# install-deps.sh — installs what ditc needs to build and test on a fresh Debian/Ubuntu machine.
# Idempotent: packages already present are not reinstalled. Needs root (or sudo).
set -euo pipefail

pkgs=(build-essential cmake pkg-config
      libopenblas-openmp-dev            # BLAS (sgemm) with OpenMP threading
      zlib1g-dev libpng-dev libjpeg-dev # image/data formats (data pipeline, PNG sample grids)
      libopenmpi-dev openmpi-bin        # MPI communicator (distributed training, ctest label mpi)
      clang libclang-rt-dev libomp-dev  # libFuzzer + sanitizer runtimes, clang OpenMP
      dataset-fashion-mnist             # the built-in demo's data (offline), also used by tests
      python3 python3-numpy python3-torch python3-pil) # test references only (PyTorch, Pillow)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
