#!/usr/bin/env bash
# demo.sh — the README's main command: installs dependencies, builds ditc and runs it.
# (The DiT training demo on Fashion-MNIST replaces the `ditc info` run once the trainer lands.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
./build/ditc info
echo "demo: built ./build/ditc"
