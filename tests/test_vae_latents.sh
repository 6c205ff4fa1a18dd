#!/usr/bin/env bash
# test_vae_latents.sh DITC SRC — training on latent shards (`ditc extract --vae`) equals training with the
# images encoded on the fly (`ditc train --vae`): the same loss trajectory for the same seed, within 1e-5
# relative per logged step (in fact bit-identical: the same encoder code, the same keyed flip and posterior
# noise). Both with flips (latents of both orientations, --flips) and without (--no-flip). A small random
# AutoencoderKL (vae_reference.py make-bad's "good" case, numpy only) and a small ImageFolder of PNGs.
# Skipped (77) without /usr/bin/python3 + numpy + PIL (used only to write those files).
source "$(dirname "$0")/test_lib.sh"
if ! "$PY" -c 'import numpy, PIL' >/dev/null 2>&1; then
    echo "SKIP $TEST_NAME: $PY cannot import numpy and PIL (to write the test VAE and images)"
    exit 77
fi
make_vae_and_images "$TMP/vae" "$TMP/imgs" || finish
VAE=$TMP/vae/good
F=(--model DiT-S/2 --depth 1 --hidden-size 32 --num-heads 2 --global-batch-size 4 --max-steps 9 --log-every 1
   --num-workers 2 --global-seed 7 --lr 1e-3)

# losses RUN_DIR: the loss column of metrics.csv
losses() { tail -n +2 "$1"/*/metrics.csv | cut -d, -f3; }
same_losses() { # LABEL DIR1 DIR2
    "$PY" - "$TMP/$2" "$TMP/$3" <<'PYEOF'
import glob, sys
def read(d):
    f = glob.glob(d + '/*/metrics.csv')[0]
    return [float(l.split(',')[2]) for l in open(f).read().split('\n')[1:] if l]
a, b = read(sys.argv[1]), read(sys.argv[2])
worst = max(abs(x - y) / abs(x) for x, y in zip(a, b)) if a else 1
print(f'{len(a)} vs {len(b)} steps, worst relative difference {worst:.3g}')
sys.exit(0 if len(a) == len(b) == 9 and worst <= 1e-5 else 1)
PYEOF
}

for mode in flips noflip; do
    if [ $mode = flips ]; then xf=(--flips); tf=(); else xf=(); tf=(--no-flip); fi
    run "ex-$mode" "$DITC" extract --data-path "$TMP/imgs" --image-size 16 --vae "$VAE" "${xf[@]}" --shard-size 5 \
        --out "$TMP/lat-$mode"
    check $? "extract --vae ${xf[*]} into 3 latent shards"
    run "fly-$mode" "$DITC" train --data-path "$TMP/imgs" --image-size 16 --vae "$VAE" "${F[@]}" "${tf[@]}" \
        --results-dir "$TMP/fly-$mode" || { fail "train --vae ($mode)"; show "fly-$mode"; }
    run "lat-$mode" "$DITC" train --data-path "$TMP/lat-$mode" "${F[@]}" "${tf[@]}" --results-dir "$TMP/shard-$mode" ||
        { fail "train on latents ($mode)"; show "lat-$mode"; }
    out=$(same_losses "$mode" "fly-$mode" "shard-$mode")
    check $? "$mode: loss trajectory on latent shards = on-the-fly encoding: $out"
done
grep -q "images encoded on the fly" "$TMP/fly-flips.out"
check $? "train --vae logs the VAE"
[ "$(losses "$TMP/shard-flips" | sort -u | wc -l)" -gt 1 ]
check $? "the losses vary over the steps (fresh timesteps and posterior noise)"
run noflip-err "$DITC" train --data-path "$TMP/lat-noflip" "${F[@]}" --results-dir "$TMP/err"
[ $? -eq 1 ] && grep -q -- "--flips" "$TMP/noflip-err.err"
check $? "latents without flips + random flips: one clear error ($(head -c 150 "$TMP/noflip-err.err"))"
run sample "$DITC" sample --ckpt "$(ls -d "$TMP"/shard-flips/*/checkpoints/0000009)" --vae "$VAE" --per-class 2 \
    --num-sampling-steps 4 --out "$TMP/grid.png"
check $? "sample --vae: latent samples decoded to $(head -c 120 "$TMP/sample.out")"
"$PY" -c "from PIL import Image; import sys; sys.exit(Image.open('$TMP/grid.png').size != (38, 38))"
check $? "sample --vae: a 2x2 grid of 16x16 RGB images"
run sample-novae "$DITC" sample --ckpt "$(ls -d "$TMP"/shard-flips/*/checkpoints/0000009)" --out "$TMP/g2.png"
[ $? -eq 1 ] && grep -q -- "--vae" "$TMP/sample-novae.err"
check $? "sample of a latent model without --vae: one clear error"
finish
