#!/usr/bin/env bash
# demo.sh — the README's main command: installs dependencies, builds ditc, trains a small class-conditional
# DiT on Fashion-MNIST (pixel space, 28x28x1, Debian's dataset-fashion-mnist) for a few minutes on the CPU,
# then samples a grid with one row per class. Prints where the checkpoint and the grid are.
# Environment: DEMO_STEPS (default 7000), DEMO_RESULTS (default results/demo), OMP_NUM_THREADS.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target ditc # the trainer only: the tests build with scripts/test.sh

steps="${DEMO_STEPS:-7000}"
results="${DEMO_RESULTS:-results/demo}"
data=/usr/share/datasets/fashion-mnist
# A 1.3M-parameter DiT: depth 4, width 128, 4 heads, 4x4 patches (49 tokens), batch 32. lr 2e-3 with a 100-step
# warm-up, a cosine decay to 5% over the run and a short EMA (0.995) suit a run this short (the reference's constant
# 1e-4 / 0.9999 are for long runs). An independent classifier (scripts/bench/demo_classifier.py) recognises, of 300
# samples (cfg 4, 250 DDPM steps): 92% after 7000 steps of batch 32 (the demo grid's 80: 91%; ~7.5 min of training
# on 2 cores at ~15 steps/s), 99% after 27000 (DEMO_STEPS=27000: the 30-minute run), 90% after 6000 (grid 85%),
# 87% after 4500; 80% after 3600 of batch 32;
# with batch 64 (1.7x the time per step) 69% / 83% / 89% after 1800 / 2700 / 3600 steps; width 192 after 1800
# steps of batch 64 73% in twice the time. Many small steps beat fewer large ones in a fixed time. 4x4 patches beat
# 2x2 ones in this budget (2x2, width 96: 29% after 1200 steps in twice the time). DDIM 50 or DDPM 100 instead of
# DDPM 250 cost 6 and 4 points (76% / 79% against 83% on the batch-64 2700-step checkpoint).
./build/ditc train --data-path "$data" --results-dir "$results" --model DiT-S/4 --depth 4 --hidden-size 128 \
  --num-heads 4 --global-batch-size 32 --lr 2e-3 --warmup-steps 100 --lr-schedule cosine --min-lr-ratio 0.05 \
  --ema-decay 0.995 --num-workers 2 \
  --max-steps "$steps" --log-every 100 --ckpt-every "$steps" --plot
run="$(ls -td "$results"/*/ | head -n 1)"
run="${run%/}"
ckpt="$(ls -d "$run"/checkpoints/* | sort | tail -n 1)"
./build/ditc sample --ckpt "$ckpt" --per-class 8 --cfg-scale 4.0 --num-sampling-steps 250 --seed 0 \
  --out "$run/samples.png"
echo
echo "demo: checkpoint  $ckpt  (model/ema/optimizer .safetensors, state.json)"
echo "demo: samples     $run/samples.png  (one row per Fashion-MNIST class: t-shirt, trouser, pullover, dress,"
echo "                  coat, sandal, shirt, sneaker, bag, ankle boot)"
echo "demo: loss curve  $run/loss.png"
echo "demo: logs        $run/log.txt, $run/metrics.csv, TensorBoard events (tensorboard --logdir $results)"
