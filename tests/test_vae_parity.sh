#!/usr/bin/env bash
# test_vae_parity.sh DITC SRC — the Stable Diffusion VAE against diffusers' AutoencoderKL (random weights,
# tests/reference/vae_reference.py): encoder mean/logvar, decode(mean) and decode(z) max|diff| <= 1e-4 ·
# max|ref| (the acceptance bar) for
#  * sd-vae-ft-ema at 64×64, weights under current diffusers names and under the older attention names;
#  * a tiny config (block_out [32, 64], 1 layer, 8 groups) at 16×16, batch 2, F16 and BF16 storage;
#  * tiling: the tiny config at 24×24 with --vae-tile 8 against diffusers' enable_tiling() (tile 8 pixels).
#  * ema-64 again with --threads 1 and 2: bit-identical outputs.
# VAE_PARITY_SIZE=256 adds the 256×256 sd-vae-ft-ema case (extended run; ~1 GB of memory, minutes).
# Skipped (77) when /usr/bin/python3 cannot import torch and diffusers.
source "$(dirname "$0")/test_lib.sh"
need_torch
if ! "$PY" -c 'import diffusers' >/dev/null 2>&1; then
    echo "SKIP $TEST_NAME: $PY cannot import diffusers (scripts/install-deps.sh installs it)"
    exit 77
fi
VREF=$REF/vae_reference.py

# case NAME MAKE-CASE-FLAGS...: reference, then ditc check for both naming conventions, then compare.
parity_case() {
    local name=$1 dir=$TMP/$1 conv
    shift
    if ! run "$name.make" "$PY" "$VREF" make-case --out "$dir" "$@"; then
        fail "$name: vae_reference.py make-case"
        show "$name.make"
        return
    fi
    echo "== $(cat "$TMP/$name.make.out")"
    for conv in current old; do
        if ! run "$name.$conv.check" "$DITC" check --vae "$dir/$conv" --inputs "$dir/inputs.safetensors" \
            --out "$dir/got-$conv.safetensors" ${CHECK_FLAGS:-}; then
            fail "$name ($conv names): ditc check --vae exited non-zero"
            show "$name.$conv.check"
            continue
        fi
        run "$name.$conv.cmp" "$PY" "$VREF" compare --expected "$dir/expected.safetensors" \
            --got "$dir/got-$conv.safetensors" --tol 1e-4
        check $? "$name ($conv names): $(grep -E '^(PASS|FAIL)' "$TMP/$name.$conv.cmp.out" | sed 's/ (max|ref|.*//' | paste -sd';')"
    done
}

parity_case ema-64 --size 64 --seed 0
# the same bits on any thread count (Winograd products and the other sgemm on single-threaded OpenBLAS)
for t in 1 2; do
    run "threads$t" "$DITC" check --vae "$TMP/ema-64/current" --inputs "$TMP/ema-64/inputs.safetensors" \
        --out "$TMP/threads$t.safetensors" --threads "$t"
done
cmp -s "$TMP/threads1.safetensors" "$TMP/threads2.safetensors"
check $? "ema-64: --threads 1 and --threads 2 give identical outputs"
parity_case tiny-f16 --config tiny --size 16 --batch 2 --dtype F16 --seed 1
parity_case tiny-bf16 --config tiny --size 16 --batch 2 --dtype BF16 --seed 2
CHECK_FLAGS="--vae-tile 8" parity_case tiny-tiled --config tiny --size 24 --tile 8 --seed 4
if [ "${VAE_PARITY_SIZE:-64}" = 256 ]; then
    parity_case ema-256 --size 256 --seed 3
fi
finish
