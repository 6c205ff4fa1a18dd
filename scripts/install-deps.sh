#!/usr/bin/env bash
# install-deps.sh [--tests] — installs what ditc needs on a fresh Debian/Ubuntu machine.
#   (no flag)  what building and running ditc needs (the main job, scripts/demo.sh): compiler, CMake, BLAS, image
#              libraries and the demo's data set;
#   --tests    also the test suite's tools and references (scripts/test.sh): MPI, clang (libFuzzer, sanitizers),
#              clang-format, Python with PyTorch/numpy/Pillow, and pip-installed diffusers and TensorBoard's reader.
# Idempotent: packages already present are not reinstalled. Needs root (or sudo).
set -euo pipefail

pkgs=(build-essential cmake pkg-config
      libopenblas-openmp-dev            # BLAS (sgemm) with OpenMP threading
      libdnnl-dev                       # oneDNN's sgemm for the long-K GEMMs (optional in CMake; faster there)
      zlib1g-dev libpng-dev libjpeg-dev # image/data formats (data pipeline, PNG sample grids)
      dataset-fashion-mnist)            # the built-in demo's data (offline), also used by tests
tests=0
[ "${1:-}" = "--tests" ] && tests=1
if [ "$tests" = 1 ]; then
  pkgs+=(libopenmpi-dev openmpi-bin        # MPI communicator (distributed training, ctest label mpi)
         clang libclang-rt-dev libomp-dev  # libFuzzer + sanitizer runtimes, clang OpenMP
         clang-format                      # the source style check (ctest test_format)
         python3 python3-numpy python3-torch python3-pil # test references only (PyTorch, Pillow)
         python3-protobuf)                 # TensorBoard's event reader (test_tfevents_reader, test_cluster)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
else
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ "$tests" = 1 ] || exit 0 # the rest are test references

# diffusers (test reference of the VAE only: tests/test_vae_parity.sh, scripts/bench/vae_vs_diffusers.sh) for
# the distribution's python3 + torch, pinned to a release that works with Debian's torch 1.13; --no-deps so pip
# never replaces the distribution's torch/numpy, hence its small pure-Python dependencies listed explicitly.
# Best effort: without network the VAE parity test is skipped (exit 77), nothing else depends on it.
if ! /usr/bin/python3 -c 'import diffusers' >/dev/null 2>&1; then
  if ! /usr/bin/python3 -m pip --version >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-pip >/dev/null || true
  fi
  echo "install-deps: installing diffusers for /usr/bin/python3 (VAE reference)"
  $SUDO /usr/bin/python3 -m pip install -q --break-system-packages --no-deps \
    diffusers==0.29.2 huggingface_hub==0.23.4 safetensors filelock regex requests importlib_metadata zipp \
    packaging pyyaml tqdm fsspec typing_extensions urllib3 idna charset_normalizer certifi \
    || echo "install-deps: diffusers not installed (the VAE parity test will be skipped)"
fi

# TensorBoard's event-file reader (tests/test_tfevents.sh, tests/reference/read_tfevents.py) for the distribution's
# python3: only its reader path is needed (no TensorFlow, no server), which imports numpy and protobuf (Debian's
# python3-numpy, python3-protobuf 3.21 above) and absl; tensorboard 2.16.2 is a release whose generated protobuf
# code works with protobuf 3.21, --no-deps so pip replaces nothing of the distribution's. Best effort: without
# network the test is skipped (exit 77).
if ! /usr/bin/python3 -c 'import tensorboard.backend.event_processing.plugin_event_accumulator' >/dev/null 2>&1; then
  if ! /usr/bin/python3 -m pip --version >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-pip >/dev/null || true
  fi
  echo "install-deps: installing tensorboard's event reader for /usr/bin/python3 (tests/test_tfevents.sh)"
  $SUDO /usr/bin/python3 -m pip install -q --break-system-packages --no-deps tensorboard==2.16.2 absl-py==2.1.0 \
    || echo "install-deps: tensorboard not installed (test_tfevents_reader will be skipped)"
fi

# pytorch-fid 0.3.0 (the reference of `ditc fid`: tests/test_fid.sh, scripts/bench/fid_vs_pytorch_fid.sh) for the
# distribution's python3: it builds its Inception from torchvision's blocks and uses scipy's sqrtm; Debian's
# python3-torchvision matches python3-torch. --no-deps so pip replaces nothing of the distribution's (tqdm, Pillow,
# numpy come from above). Best effort: without them test_fid is skipped (exit 77).
if ! /usr/bin/python3 -c 'import torchvision, scipy, pytorch_fid.fid_score' >/dev/null 2>&1; then
  echo "install-deps: installing python3-torchvision, python3-scipy and pytorch-fid (FID reference)"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-torchvision \
    python3-scipy python3-tqdm >/dev/null || echo "install-deps: python3-torchvision/python3-scipy not installed"
  if ! /usr/bin/python3 -m pip --version >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-pip >/dev/null || true
  fi
  $SUDO /usr/bin/python3 -m pip install -q --break-system-packages --no-deps pytorch-fid==0.3.0 \
    || echo "install-deps: pytorch-fid not installed (test_fid will be skipped)"
fi
