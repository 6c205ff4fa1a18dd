#!/usr/bin/env bash
# test_parity.sh DITC SRC — numerical parity of ditc with the PyTorch reference (tests/reference) on small
# configurations: for each, `dit_reference.py make-case` writes perturbed weights, a batch (t includes
# 0, 1 and 999; y includes the null class) and the reference's output, mse/vb/loss, gradients of
# mean(loss) and 10 AdamW steps; `ditc check` computes the same and `compare.py` applies the acceptance
# tolerances: output max|diff| <= 1e-5 max|ref|; mse, vb, loss per sample rel <= 1e-5 (t = 0 included);
# ||grad - ref|| <= 1e-4 ||ref||; loss of each AdamW step rel <= 1e-4; parameters after them <= 1e-4.
# Skipped (77) without /usr/bin/python3 + torch.
source "$(dirname "$0")/test_lib.sh"
need_torch

STEPS=10
LR=1e-3
# name depth hidden heads patch channels side classes batch
configs=(
    "d2-D64-H4-p2-C4-S8-K10-B6   2 64 4 2 4 8 10 6"
    "d3-D96-H3-p4-C3-S16-K7-B5   3 96 3 4 3 16 7 5"
    "d2-D48-H2-p1-C1-S6-K3-B4    2 48 2 1 1 6 3 4"
    "d1-D32-H8-p2-C2-S10-K1-B3   1 32 8 2 2 10 1 3"
)
for cfg in "${configs[@]}"; do
    read -r name depth hidden heads patch channels side classes batch <<<"$cfg"
    echo "== $name: depth $depth, hidden $hidden, heads $heads, patch $patch, channels $channels, side $side," \
         "classes $classes, batch $batch; grads + $STEPS AdamW steps at lr $LR"
    parity_case "$name" "$heads" "$STEPS" "$LR" --depth "$depth" --hidden "$hidden" --patch "$patch" \
        --channels "$channels" --side "$side" --classes "$classes" --batch "$batch"
done
finish
