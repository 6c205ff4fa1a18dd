# test_sample_npz.sh DITC SRC [mpi] — `ditc sample --num-samples N --npz OUT.npz` (the ADM sample batch):
#  * numpy loads it: arr_0 uint8 (N, H, W, 3) (a 1-channel model as three equal channels), arr_1 int64 labels in
#    [0, K); Python's zipfile checks every CRC32; the same bytes for any --batch (samples keyed by global index);
#  * each sample's pixels equal ditc's PNG grid of the same labels byte for byte (pixel 1 and 3 channels, and a
#    4-channel latent model decoded through a tiny random VAE);
#  * --balanced: exactly N/K per class (label i mod K);
#  * kill -9 mid-run, rerun: the identical file; a corrupted batch in the partial file is found by its CRC and
#    drawn again; other settings on the rerun are refused;
#  * ZIP64 (DITC_NPZ_FORCE_ZIP64=1 on a small file): the ZIP64 extras and end records, read by Python's zipfile
#    and numpy to the same arrays;
#  * bad input: --npz in a missing directory, --num-samples 0, --batch 0, --batch without --npz — one message each.
# With the argument `mpi` (ctest test_sample_npz_mpi, label mpi): mpirun -np 1, 2, 3 give the identical file, and
# a kill -9 of a 2-process run resumes at -np 3 to it too (skipped, 77, without mpirun or an MPI build).
. "$(dirname "$0")/test_lib.sh"
need_torch
MODE=${3:-}
T=(--threads 1 --num-heads 2)

run pix1 "$PY" "$REF/dit_reference.py" save-torch --out "$TMP/pix1.safetensors" --depth 1 --hidden 32 --heads 2 \
    --patch 2 --channels 1 --side 8 --classes 10 --seed 1 || { fail "save-torch (1 channel)"; finish; }
run pix3 "$PY" "$REF/dit_reference.py" save-torch --out "$TMP/pix3.safetensors" --depth 1 --hidden 32 --heads 2 \
    --patch 2 --channels 3 --side 8 --classes 5 --seed 2 || { fail "save-torch (3 channels)"; finish; }

# npz_check FILE N SIDE K [same-channels]: numpy's view of the file, and every CRC by zipfile.testzip()
npz_check() {
    "$PY" - "$@" <<'PYEOF'
import sys, zipfile
import numpy as np
f, n, side, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
with zipfile.ZipFile(f) as z:
    assert z.testzip() is None, 'bad CRC'
    assert [i.filename for i in z.infolist()] == ['arr_0.npy', 'arr_1.npy'], z.namelist()
    assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
d = np.load(f)
a, y = d['arr_0'], d['arr_1']
assert a.shape == (n, side, side, 3) and a.dtype == np.uint8, (a.shape, a.dtype)
assert y.shape == (n,) and y.dtype == np.int64 and y.min() >= 0 and y.max() < k, (y.shape, y.dtype, y)
if len(sys.argv) > 5:
    assert (a[..., 0] == a[..., 1]).all() and (a[..., 1] == a[..., 2]).all(), 'channels differ'
assert 0 < a.std(), 'constant images'
print(f'{a.shape} {a.dtype}, labels {y.tolist()[:12]}{"..." if n > 12 else ""}, mean {a.mean():.1f}')
PYEOF
}

# grid_match NPZ PNG: the PNG grid (torchvision layout: min(n, 8) columns, padding 2) holds arr_0's images
grid_match() {
    "$PY" - "$@" <<'PYEOF'
import sys
import numpy as np
from PIL import Image
a = np.load(sys.argv[1])['arr_0']
g = np.asarray(Image.open(sys.argv[2]).convert('RGB'))
n, h, w, _ = a.shape
cols = min(8, n)
bad = 0
for i in range(n):
    r, c = divmod(i, cols)
    cell = g[2 + r * (h + 2): 2 + r * (h + 2) + h, 2 + c * (w + 2): 2 + c * (w + 2) + w] if n > 1 else g
    bad += int((cell != a[i]).sum())
print(f'{n} samples, {bad} bytes differ')
sys.exit(bad != 0)
PYEOF
}

labels_of() { "$PY" -c "import numpy as np, sys; print(','.join(map(str, np.load(sys.argv[1])['arr_1'])))" "$1"; }

if [ "$MODE" = mpi ]; then
    command -v mpirun >/dev/null || { echo "SKIP $TEST_NAME: no mpirun"; exit 77; }
    MPI=(mpirun --allow-run-as-root --oversubscribe)
    run np1 "$DITC" sample --ckpt "$TMP/pix1.safetensors" "${T[@]}" --npz "$TMP/np1.npz" --num-samples 11 --batch 2 \
        --num-sampling-steps 20 --cfg-scale 1.5 || { fail "np 1"; show np1; }
    for np in 2 3; do
        run "np$np" "${MPI[@]}" -np $np "$DITC" sample --ckpt "$TMP/pix1.safetensors" "${T[@]}" \
            --npz "$TMP/np$np.npz" --num-samples 11 --batch 2 --num-sampling-steps 20 --cfg-scale 1.5
        rc=$?
        if [ $rc -ne 0 ] && grep -q "built without MPI" "$TMP/np$np.err"; then
            echo "SKIP $TEST_NAME: ditc is built without MPI"
            exit 77
        fi
        grep -q "$np processes" "$TMP/np$np.out" || { fail "np $np: not $np processes"; show "np$np"; }
        cmp -s "$TMP/np1.npz" "$TMP/np$np.npz"
        check $? "mpirun -np $np: the file is identical to -np 1 (11 samples, batch 2: uneven split)"
    done
    # kill -9 of a 2-process run, resumed at -np 3
    R=(--ckpt "$TMP/pix1.safetensors" "${T[@]}" --num-samples 96 --batch 4 --num-sampling-steps 250 --cfg-scale 1.5)
    run ref "$DITC" sample "${R[@]}" --npz "$TMP/ref.npz" || fail "uninterrupted 96 samples"
    "${MPI[@]}" -np 2 "$DITC" sample "${R[@]}" --npz "$TMP/k.npz" >"$TMP/k1.out" 2>"$TMP/k1.err" &
    pid=$!
    for _ in $(seq 1 500); do
        [ -f "$TMP/k.npz.progress" ] && [ -n "$(od -An -tx1 -j $((8192 + 32 * 3)) -N4 "$TMP/k.npz.progress" | tr -d ' 0\n')" ] && break
        sleep 0.01
    done
    ranks=$(pgrep -P $pid) # the ditc ranks mpirun started: kill them (by id) and mpirun itself
    # shellcheck disable=SC2086
    kill -9 $ranks $pid 2>/dev/null
    wait $pid 2>/dev/null
    for _ in $(seq 1 100); do
        # shellcheck disable=SC2086
        kill -0 $ranks 2>/dev/null || break
        sleep 0.05
    done
    [ -f "$TMP/k.npz.partial" ] && [ ! -f "$TMP/k.npz" ]
    check $? "mpirun -np 2 killed (-9) mid-run: a partial file and its progress file are left"
    run k2 "${MPI[@]}" -np 3 "$DITC" sample "${R[@]}" --npz "$TMP/k.npz" || { fail "resume at -np 3"; show k2; }
    cmp -s "$TMP/ref.npz" "$TMP/k.npz" && [ ! -e "$TMP/k.npz.progress" ] && [ ! -e "$TMP/k.npz.partial" ]
    check $? "resumed at -np 3: identical to the uninterrupted file; progress and partial files removed"
    finish
fi

# ---- one process -------------------------------------------------------------------------------------------
S1=(--ckpt "$TMP/pix1.safetensors" "${T[@]}" --num-sampling-steps 20 --cfg-scale 1.5)
run a "$DITC" sample "${S1[@]}" --npz "$TMP/a.npz" --num-samples 10 --batch 3 || { fail "sample --npz"; show a; finish; }
grep -q "wrote $TMP/a.npz: 10 samples 8x8x3" "$TMP/a.out"
check $? "sample --npz: $(head -c 150 "$TMP/a.out")"
run a.check npz_check "$TMP/a.npz" 10 8 10 same
check $? "numpy + zipfile read it (1-channel model -> 3 equal channels): $(tail -1 "$TMP/a.check.out")"
[ $? -eq 0 ] || show a.check
run b "$DITC" sample "${S1[@]}" --npz "$TMP/b.npz" --num-samples 10 --batch 10
cmp -s "$TMP/a.npz" "$TMP/b.npz"
check $? "--batch 3 and --batch 10 write the identical file (noise and labels keyed by the global index)"
run a.png "$DITC" sample "${S1[@]}" --class-labels "$(labels_of "$TMP/a.npz")" --out "$TMP/a.png"
run a.match grid_match "$TMP/a.npz" "$TMP/a.png"
check $? "1 channel: the .npz equals the PNG grid of the same labels byte for byte ($(tail -1 "$TMP/a.match.out"))"
run s1 "$DITC" sample "${S1[@]}" --npz "$TMP/s1.npz" --num-samples 10 --seed 1
"$PY" -c "import numpy as np,sys; a,b=(np.load(f) for f in sys.argv[1:]); sys.exit(int(bool((a['arr_1']==b['arr_1']).all() or (a['arr_0']==b['arr_0']).all())))" \
    "$TMP/a.npz" "$TMP/s1.npz"
check $? "--seed 1 draws other labels and images"

S3=(--ckpt "$TMP/pix3.safetensors" "${T[@]}" --num-sampling-steps 10 --cfg-scale 2 --sampler ddim)
run c "$DITC" sample "${S3[@]}" --npz "$TMP/c.npz" --num-samples 7 --batch 7 || { fail "3 channels"; show c; }
run c.check npz_check "$TMP/c.npz" 7 8 5
check $? "3 channels, DDIM: $(tail -1 "$TMP/c.check.out")"
run c.png "$DITC" sample "${S3[@]}" --class-labels "$(labels_of "$TMP/c.npz")" --out "$TMP/c.png"
run c.match grid_match "$TMP/c.npz" "$TMP/c.png"
check $? "3 channels: the .npz equals the PNG grid byte for byte ($(tail -1 "$TMP/c.match.out"))"

run bal "$DITC" sample "${S3[@]}" --npz "$TMP/bal.npz" --num-samples 15 --batch 4 --balanced
"$PY" -c "import numpy as np,sys; y=np.load(sys.argv[1])['arr_1']; sys.exit(not ((np.bincount(y, minlength=5)==3).all() and (y==np.arange(15)%5).all()))" \
    "$TMP/bal.npz"
check $? "--balanced: exactly N/K = 3 samples per class (label i mod K)"

# ---- a latent model through the VAE ------------------------------------------------------------------------
if run vae "$PY" "$REF/vae_reference.py" make-bad --out "$TMP/vae"; then
    run lat "$PY" "$REF/dit_reference.py" save-torch --out "$TMP/lat.safetensors" --depth 1 --hidden 32 --heads 2 \
        --patch 2 --channels 4 --side 4 --classes 3 --seed 3
    SL=(--ckpt "$TMP/lat.safetensors" "${T[@]}" --num-sampling-steps 10 --cfg-scale 1.5 --vae "$TMP/vae/good")
    run l "$DITC" sample "${SL[@]}" --npz "$TMP/l.npz" --num-samples 5 --batch 5 || { fail "latent --vae"; show l; }
    run l.check npz_check "$TMP/l.npz" 5 8 3
    check $? "latent 4-channel model decoded by --vae: $(tail -1 "$TMP/l.check.out")"
    run l.png "$DITC" sample "${SL[@]}" --class-labels "$(labels_of "$TMP/l.npz")" --out "$TMP/l.png"
    run l.match grid_match "$TMP/l.npz" "$TMP/l.png"
    check $? "latent + VAE: the .npz equals the PNG grid byte for byte ($(tail -1 "$TMP/l.match.out"))"
else
    fail "vae_reference.py make-bad"
fi

# ---- ZIP64 -------------------------------------------------------------------------------------------------
DITC_NPZ_FORCE_ZIP64=1 run z "$DITC" sample "${S1[@]}" --npz "$TMP/z.npz" --num-samples 10 --batch 4
grep -q "ZIP64" "$TMP/z.out"
check $? "DITC_NPZ_FORCE_ZIP64=1: written with ZIP64 records"
run z.check "$PY" - "$TMP/z.npz" "$TMP/a.npz" <<'PYEOF'
import struct, sys, zipfile
import numpy as np
z64, plain = sys.argv[1], sys.argv[2]
raw = open(z64, 'rb').read()
eocd = raw.rfind(b'PK\x05\x06')
loc = raw.rfind(b'PK\x06\x07')
rec = raw.rfind(b'PK\x06\x06')
assert eocd == len(raw) - 22 and loc == eocd - 20 and rec == loc - 56, (len(raw), eocd, loc, rec)
assert struct.unpack('<Q', raw[loc + 8:loc + 16])[0] == rec, 'locator offset'
cd_size, cd_off = struct.unpack('<QQ', raw[rec + 40:rec + 56])
assert struct.unpack('<II', raw[eocd + 12:eocd + 20]) == (0xFFFFFFFF, 0xFFFFFFFF)
assert cd_off + cd_size == rec
with zipfile.ZipFile(z64) as z:
    assert z.testzip() is None
    for i in z.infolist():
        tp, ln = struct.unpack('<HH', i.extra[:4])
        assert tp == 1 and ln == 24, (tp, ln)       # central ZIP64 extra: sizes and offset
        lh = raw[i.header_offset:i.header_offset + 30]
        assert lh[:4] == b'PK\x03\x04' and struct.unpack('<II', lh[18:26]) == (0xFFFFFFFF, 0xFFFFFFFF)
        assert struct.unpack('<HH', lh[26:30])[1] == 20   # local ZIP64 extra
a, b = np.load(z64), np.load(plain)
assert (a['arr_0'] == b['arr_0']).all() and (a['arr_1'] == b['arr_1']).all()
print(f'ZIP64 end record at {rec}, locator at {loc}, {len(z.infolist())} members with ZIP64 extras')
PYEOF
check $? "ZIP64: $(tail -1 "$TMP/z.check.out")"
[ -s "$TMP/z.check.err" ] && show z.check

# ---- resume after kill -9 ----------------------------------------------------------------------------------
R=(--ckpt "$TMP/pix1.safetensors" "${T[@]}" --num-samples 96 --batch 4 --num-sampling-steps 250 --cfg-scale 1.5)
run ref "$DITC" sample "${R[@]}" --npz "$TMP/ref.npz" || fail "uninterrupted 96 samples"
# has_record FILE K: batch K's record is in the progress file
has_record() { [ -f "$1" ] && [ -n "$(od -An -tx1 -j $((8192 + 32 * $2)) -N4 "$1" 2>/dev/null | tr -d ' 0\n')" ]; }
"$DITC" sample "${R[@]}" --npz "$TMP/k.npz" >"$TMP/k1.out" 2>"$TMP/k1.err" &
pid=$!
for _ in $(seq 1 500); do has_record "$TMP/k.npz.progress" 3 && break; sleep 0.01; done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
[ -f "$TMP/k.npz.partial" ] && [ ! -f "$TMP/k.npz" ]
check $? "killed (-9) after batch 3: a partial file and its progress file are left"
# damage batch 1's pixels: its CRC no longer matches, so the rerun must draw it again
"$PY" - "$TMP/k.npz.partial" <<'PYEOF'
import sys
off = 30 + 9 + 128 + 4 * 192 + 5  # local header + name, NPY header, sample 4 (batch 1), byte 5
with open(sys.argv[1], 'r+b') as f:
    f.seek(off)
    b = f.read(1)
    f.seek(off)
    f.write(bytes([b[0] ^ 0xFF]))
PYEOF
run bad "$DITC" sample "${R[@]}" --npz "$TMP/k.npz" --cfg-scale 2
[ $? -ne 0 ] && grep -q "other settings" "$TMP/bad.err"
check $? "a rerun with other settings is refused: $(head -c 160 "$TMP/bad.err")"
run k2 "$DITC" sample "${R[@]}" --npz "$TMP/k.npz" || { fail "resume"; show k2; }
grep -q "already written and verified; some recorded batches failed their CRC" "$TMP/k2.out"
check $? "the rerun resumes: $(grep -m1 'already written' "$TMP/k2.out")"
cmp -s "$TMP/ref.npz" "$TMP/k.npz" && [ ! -e "$TMP/k.npz.progress" ] && [ ! -e "$TMP/k.npz.partial" ]
check $? "resumed file identical to the uninterrupted one; progress and partial files removed"

# ---- bad input ---------------------------------------------------------------------------------------------
bad_input() { # NAME EXPECTED-TEXT ARGS...
    local name=$1 want=$2
    shift 2
    run "$name" "$DITC" sample --ckpt "$TMP/pix1.safetensors" "${T[@]}" "$@"
    local rc=$?
    [ $rc -ne 0 ] && [ "$(wc -l <"$TMP/$name.err")" -eq 1 ] && grep -q -- "$want" "$TMP/$name.err"
    check $? "bad input $name: exit $rc, '$(cat "$TMP/$name.err")'"
}
bad_input baddir "$TMP/nope/x.npz" --npz "$TMP/nope/x.npz" --num-samples 4
bad_input zero "--num-samples 0: --npz needs 1 to" --npz "$TMP/x.npz" --num-samples 0
bad_input nonum "--num-samples 0" --npz "$TMP/x.npz"
bad_input batch0 "--batch 0: must be in 1..65536" --npz "$TMP/x.npz" --num-samples 4 --batch 0
bad_input nonpz "need --npz" --batch 4
bad_input labels "--class-labels" --npz "$TMP/x.npz" --num-samples 4 --class-labels 1,2
bad_input out "--out $TMP/x.png names the PNG grid" --npz "$TMP/x.npz" --num-samples 4 --out "$TMP/x.png"
finish
