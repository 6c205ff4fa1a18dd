#!/usr/bin/env bash
# test_sophia_latents.sh DITC SRC — SophiaG's Hessian pass sees the model's real input (the latents), not the
# loader's raw batch (pixels, or the mean/log-variance pairs of latent shards).
#  A. Latent shards whose posterior is a point mass (logvar −1000: the posterior std expf(−500) is 0, so the
#     sample is the mean exactly; scaling factor 1, shift 0) against image shards holding the same values
#     (mean = u8/127.5 − 1, the image pipeline's scaling): the reference run on images computes its Hessian on
#     exactly the latents the latent run trains on. SophiaG with a Hessian refresh after every step: losses,
#     weights, EMA, moments and the Hessian EMA of the two runs are bit-identical.
#  B. `ditc train --vae` (images encoded on the fly) against the same images extracted to latent shards
#     (`ditc extract --vae`): SophiaG trajectories and checkpoints bit-identical, with and without flips.
# Before the fix the Hessian pass read bt->x (pixels / moment pairs) with the loader's per-sample stride, and
# both A and B differ after the first refresh. Skipped (77) without /usr/bin/python3 + numpy + PIL.
source "$(dirname "$0")/test_lib.sh"
if ! "$PY" -c 'import numpy, PIL' >/dev/null 2>&1; then
    echo "SKIP $TEST_NAME: $PY cannot import numpy and PIL (to write the test data and VAE)"
    exit 77
fi
SOPHIA=(--optimizer sophiag --hessian-every 1 --rho 0.05 --lr 1e-3 --max-steps 6 --log-every 1 --ckpt-every 6
        --global-seed 11 --num-workers 2)
MODEL=(--model DiT-S/2 --depth 1 --hidden-size 32 --num-heads 2 --global-batch-size 4)

# same_run LABEL RUN1 RUN2: the loss column of metrics.csv and every tensor of the final checkpoint equal
same_run() {
    "$PY" - "$TMP/$2" "$TMP/$3" <<'PYEOF'
import glob, os, sys
import numpy as np
sys.path.insert(0, os.environ['REF'])
import st
def losses(d):
    f = glob.glob(d + '/*/metrics.csv')[0]
    return [l.split(',')[2] for l in open(f).read().split('\n')[1:] if l]
a, b = losses(sys.argv[1]), losses(sys.argv[2])
bad = [] if a == b and len(a) == 6 else [f'losses {a} vs {b}']
worst = 0.0
for name in ('model', 'ema', 'optimizer'):
    ta = st.read(glob.glob(sys.argv[1] + f'/*/checkpoints/0000006/{name}.safetensors')[0])
    tb = st.read(glob.glob(sys.argv[2] + f'/*/checkpoints/0000006/{name}.safetensors')[0])
    if sorted(ta) != sorted(tb): bad.append(f'{name}: different tensors'); continue
    for k in ta:
        x, y = np.asarray(ta[k], dtype=np.float64), np.asarray(tb[k], dtype=np.float64)
        d = float(np.abs(x - y).max()) if x.size else 0.0
        worst = max(worst, d)
        if d != 0.0: bad.append(f'{name}.{k} max|diff| {d:.3g}')
print(f'{len(a)} steps, losses {"equal" if a == b else "differ"}, worst tensor max|diff| {worst:.3g}'
      + ('' if not bad else '; ' + '; '.join(bad[:4])))
sys.exit(1 if bad else 0)
PYEOF
}
export REF

echo "== A. latent shards of a point-mass posterior = image shards of the same values"
"$PY" - "$TMP" <<'PYEOF'
import json, os, sys
import numpy as np
sys.path.insert(0, os.environ['REF'])
import st
root = sys.argv[1]
r = np.random.default_rng(5)
n, C, S, K = 12, 4, 8, 3
u8 = r.integers(0, 256, size=(n, C, S, S), dtype=np.uint8)
labels = (np.arange(n) % K).astype(np.int32)
os.makedirs(f'{root}/img', exist_ok=True)
os.makedirs(f'{root}/lat', exist_ok=True)
st.write(f'{root}/img/shard-00000.safetensors', {'images': u8, 'labels': labels},
         {'format': 'ditc-shards', 'version': '1', 'first_index': '0'})
json.dump({'format': 'ditc-shards', 'version': 1, 'data': 'images-u8', 'channels': C, 'side': S, 'num_classes': K,
           'total': n, 'source': 'test', 'shards': [{'file': 'shard-00000.safetensors', 'count': n}]},
          open(f'{root}/img/index.json', 'w'))
mean = u8.astype(np.float32) / np.float32(127.5) - np.float32(1.0)  # the image pipeline's v/127.5 − 1
logvar = np.full_like(mean, -1000.0)
st.write(f'{root}/lat/latents-00000.safetensors', {'mean': mean, 'logvar': logvar, 'labels': labels},
         {'format': 'ditc-latents'})
json.dump({'format': 'ditc-latents', 'version': 1, 'latent_channels': C, 'side': S, 'image_side': 8 * S,
           'num_classes': K, 'total': n, 'flips': 0, 'scaling_factor': 1.0, 'shift_factor': 0.0, 'vae': 'none',
           'source': 'test', 'shards': [{'file': 'latents-00000.safetensors', 'count': n}]},
          open(f'{root}/lat/latents.json', 'w'))
PYEOF
check $? "wrote image shards and point-mass latent shards (12 samples, 4x8x8, 3 classes)"
run a-img "$DITC" train --data-path "$TMP/img" "${MODEL[@]}" "${SOPHIA[@]}" --no-flip --results-dir "$TMP/a-img" ||
    { fail "train on image shards"; show a-img; }
run a-lat "$DITC" train --data-path "$TMP/lat" "${MODEL[@]}" "${SOPHIA[@]}" --no-flip --results-dir "$TMP/a-lat" ||
    { fail "train on latent shards"; show a-lat; }
grep -q "Hessian (GNB) every 1 steps" "$TMP/a-lat.out"
check $? "the latent run is SophiaG with a Hessian refresh after every step"
out=$(same_run A a-img a-lat)
check $? "SophiaG on latents = the reference on the same values as images: $out"

echo "== B. train --vae = train on the latent shards of the same images and VAE"
make_vae_and_images "$TMP/vae" "$TMP/imgs" || finish
VAE=$TMP/vae/good
for mode in flips noflip; do
    if [ $mode = flips ]; then xf=(--flips); tf=(); else xf=(); tf=(--no-flip); fi
    run "ex-$mode" "$DITC" extract --data-path "$TMP/imgs" --image-size 16 --vae "$VAE" "${xf[@]}" --out "$TMP/lat-$mode"
    check $? "extract --vae ${xf[*]}"
    run "fly-$mode" "$DITC" train --data-path "$TMP/imgs" --image-size 16 --vae "$VAE" "${MODEL[@]}" "${SOPHIA[@]}" \
        "${tf[@]}" --results-dir "$TMP/fly-$mode" || { fail "train --vae ($mode)"; show "fly-$mode"; }
    run "shard-$mode" "$DITC" train --data-path "$TMP/lat-$mode" "${MODEL[@]}" "${SOPHIA[@]}" "${tf[@]}" \
        --results-dir "$TMP/shard-$mode" || { fail "train on latents ($mode)"; show "shard-$mode"; }
    out=$(same_run "$mode" "fly-$mode" "shard-$mode")
    check $? "$mode: SophiaG with --vae = SophiaG on the latent shards: $out"
done
finish
