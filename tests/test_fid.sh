#!/usr/bin/env bash
# test_fid.sh DITC SRC — `ditc fid` against pytorch-fid 0.3.0 (tests/reference/fid_reference.py: pytorch-fid's own
# InceptionV3 FID variant with random weights, BN running statistics included):
#  * features ≤ 1e-4 · max|ref| (per image and overall): the full-size graph on 3 images (npz batch), the width/8
#    tiny config on 2 × 40 images (npz batch and the PNG folder pytorch-fid itself read);
#  * mu/sigma and FID ≤ 1e-6 relative from the same features (random features written by Python: N > D and
#    N < D), --save-stats read back by numpy (float64);
#  * one FID for every kind of input: npz batches, PNG folders, statistics written by ditc, pytorch-fid's
#    statistics files (savez_compressed) — and pytorch-fid's end-to-end FID;
#  * ZIP64 .npz files (as multi-GB batches are written) read the same pixels;
#  * the Inception weights as safetensors, as a zip-format .pt and as a legacy-format .pth: the same FID;
#  * bad inputs: each one message naming the file or flag, a non-zero exit, no crash.
# Skipped (77) when /usr/bin/python3 lacks torch, torchvision, scipy or pytorch_fid (scripts/install-deps.sh).
source "$(dirname "$0")/test_lib.sh"
need_torch
if ! "$PY" -c 'import torchvision, scipy, pytorch_fid.fid_score' >/dev/null 2>&1; then
    echo "SKIP $TEST_NAME: $PY cannot import torchvision, scipy and pytorch_fid (scripts/install-deps.sh installs them)"
    exit 77
fi
FREF=$REF/fid_reference.py
T=$TMP
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}

# relclose A B TOL: |A − B| ≤ TOL·|B|, prints the relative difference
relclose() { "$PY" -c "import sys; a, b, t = map(float, sys.argv[1:]); r = abs(a - b) / abs(b); print(f'{r:.3g}'); sys.exit(0 if r <= t else 1)" "$@"; }
fid_of() { sed -n 's/^FID: //p' "$T/$1.out"; }

# ---- reference cases -------------------------------------------------------------------------------------
if ! run make_tiny "$PY" "$FREF" make --out "$T/tiny" --width-div 8 --seed 1 --sets a:40:40x32:0,b:40:40x32:0.15 --png; then
    fail "fid_reference.py make (tiny)"; show make_tiny; exit 1
fi
if ! run make_full "$PY" "$FREF" make --out "$T/full" --width-div 1 --seed 2 --sets a:3:64x48:0 --no-fid; then
    fail "fid_reference.py make (full size)"; show make_full; exit 1
fi

# ---- features ----------------------------------------------------------------------------------------------
feat_case() { # NAME REFDIR INPUT REF_FEAT
    if run "$1" "$DITC" fid "$3" --inception "$2/inception.safetensors" --save-features "$T/$1.npz" --batch 16; then
        run "$1.cmp" "$PY" "$FREF" compare-features --ref "$4" --got "$T/$1.npz" --tol 1e-4
        check $? "$1: $(head -n 1 "$T/$1.cmp.out")"
    else
        fail "$1: ditc fid --save-features exited non-zero"; show "$1"
    fi
}
feat_case full_npz "$T/full" "$T/full/a.npz" "$T/full/a.feat.npy"
run full_b1 "$DITC" fid "$T/full/a.npz" --inception "$T/full/inception.safetensors" --save-features "$T/full_b1.npz" \
    --batch 1 --threads 1
cmp -s "$T/full_npz.npz" "$T/full_b1.npz"
check $? "full size (Winograd 3x3 paths included): features bit-identical at batch 16 / 2 threads and batch 1 / 1 thread"
feat_case tiny_npz "$T/tiny" "$T/tiny/a.npz" "$T/tiny/a.feat.npy"
feat_case tiny_png "$T/tiny" "$T/tiny/b" "$T/tiny/b.feat.npy"

# ---- statistics and the Fréchet distance from the same features ---------------------------------------------
frechet_case() { # NAME N D
    local d=$T/$1
    mkdir -p "$d"
    "$PY" "$FREF" features --out "$d/f1.npz" --n "$2" --d "$3" --seed 11 &&
        "$PY" "$FREF" features --out "$d/f2.npz" --n "$2" --d "$3" --seed 12 --shift 0.3 &&
        "$PY" "$FREF" stats --features "$d/f1.npz" --out "$d/s1_ref.npz" || { fail "$1: reference features"; return; }
    local want
    want=$("$PY" "$FREF" frechet "$d/f1.npz" "$d/f2.npz" 2>/dev/null | tail -n 1)
    if run "$1.fid" "$DITC" fid "$d/f1.npz" "$d/f2.npz"; then
        local r
        r=$(relclose "$(fid_of "$1.fid")" "$want" 1e-6)
        check $? "$1: FID $(fid_of "$1.fid") vs pytorch-fid $want from the same features: relative $r (tol 1e-6)"
    else
        fail "$1: ditc fid on features"; show "$1.fid"
    fi
    if run "$1.stats" "$DITC" fid --save-stats "$d/s1.npz" "$d/f1.npz"; then
        run "$1.cmp" "$PY" "$FREF" compare-stats --ref "$d/s1_ref.npz" --got "$d/s1.npz" --tol 1e-6
        check $? "$1: --save-stats read by numpy vs np.mean/np.cov: $(head -n 1 "$T/$1.cmp.out")"
    else
        fail "$1: ditc fid --save-stats"; show "$1.stats"
    fi
}
frechet_case frechet_n600_d256 600 256
frechet_case frechet_n100_d256 100 256

# ---- every input kind gives the same FID ---------------------------------------------------------------------
W=$T/tiny/inception.safetensors
run in_npz "$DITC" fid "$T/tiny/a.npz" "$T/tiny/b.npz" --inception "$W" --batch 7
run in_png "$DITC" fid "$T/tiny/a" "$T/tiny/b" --inception "$W" --threads 1
run in_save "$DITC" fid --save-stats "$T/a_stats.npz" "$T/tiny/a" --inception "$W"
run in_stats "$DITC" fid "$T/a_stats.npz" "$T/tiny/b.npz" --inception "$W"
run in_pystats "$DITC" fid "$T/tiny/a.stats.npz" "$T/tiny/b.stats.npz"
A=$(fid_of in_npz)
r1=$(relclose "$(fid_of in_png)" "$A" 1e-8)
s1=$?
r2=$(relclose "$(fid_of in_stats)" "$A" 1e-8)
check $((s1 | $?)) "npz batches, PNG folders (batch 7 vs 32, 1 vs 2 threads) and saved statistics: FID $A, $(fid_of in_png), $(fid_of in_stats) (relative $r1, $r2: N < D, the near-zero eigenvalues' roots amplify rounding)"
# the weights as a torch.save .pt (written by ditc convert; PyTorch's zip format): the same FID to the bit
run to_pt "$DITC" convert "$W" "$T/tiny/inception.pt" &&
    run in_pt "$DITC" fid "$T/tiny/a.npz" "$T/tiny/b.npz" --inception "$T/tiny/inception.pt" --batch 7
[ -n "$A" ] && [ "$(fid_of in_pt)" = "$A" ]
check $? "--inception as a .pt (zip format): FID $(fid_of in_pt) = the safetensors' $A"
# ... and as a .pth in PyTorch's legacy (pre-1.6, non-zip) format, the format of pytorch-fid's own
# pt_inception-2015-12-05-6726825d.pth: written by torch.save(_use_new_zipfile_serialization=False)
run to_legacy "$PY" -c 'import collections, sys, torch; sys.path.insert(0, sys.argv[1]); import st
sd = collections.OrderedDict((k, torch.from_numpy(v)) for k, v in st.read(sys.argv[2]).items())
torch.save(sd, sys.argv[3], _use_new_zipfile_serialization=False)' "$REF" "$W" "$T/tiny/inception.legacy.pth" &&
    run in_legacy "$DITC" fid "$T/tiny/a.npz" "$T/tiny/b.npz" --inception "$T/tiny/inception.legacy.pth" --batch 7
[ -n "$A" ] && [ "$(fid_of in_legacy)" = "$A" ] && [ "$(head -c 2 "$T/tiny/inception.legacy.pth" | od -An -tx1 | tr -d ' \n')" = 8002 ]
check $? "--inception as a legacy-format .pth (as pytorch-fid's released weights): FID $(fid_of in_legacy) = the safetensors' $A"
run det1 "$DITC" fid "$T/tiny/a.npz" --inception "$W" --save-features "$T/det1.npz" --batch 7 --threads 1
run det2 "$DITC" fid "$T/tiny/a" --inception "$W" --save-features "$T/det2.npz" --batch 32 --threads 2
cmp -s "$T/det1.npz" "$T/det2.npz"
check $? "features bit-identical for npz batch 7 on 1 thread and the PNG folder, batch 32 on 2 threads"
r=$(relclose "$(fid_of in_pystats)" "$(cat "$T/tiny/fid.txt")" 1e-6)
check $? "pytorch-fid's statistics files (savez_compressed): FID $(fid_of in_pystats) vs its $(cat "$T/tiny/fid.txt"): relative $r"
r=$(relclose "$A" "$(cat "$T/tiny/fid.txt")" 1e-4)
check $? "end to end (images → FID) vs pytorch-fid: relative $r (tol 1e-4; features differ by float rounding)"

# ---- bad inputs ----------------------------------------------------------------------------------------------
"$PY" - "$T" "$REF" <<'EOF' || fail "making the bad inputs"
import os, sys
import numpy as np
t, ref = sys.argv[1], sys.argv[2]
sys.path.insert(0, ref)
import st
w = st.read(os.path.join(t, 'tiny', 'inception.safetensors'))
k = 'Mixed_6b.branch7x7_2.conv.weight'
w[k] = w[k][:, :, :, :5].copy()
st.write(os.path.join(t, 'bad_shape.safetensors'), w)
np.savez(os.path.join(t, 'f32.npz'), arr_0=np.zeros((4, 8, 8, 3), np.float32))
np.savez(os.path.join(t, 'twodim.npz'), arr_0=np.zeros((4, 8), np.uint8))
np.savez(os.path.join(t, 'nokey.npz'), x=np.zeros(3))
np.savez(os.path.join(t, 'badsigma.npz'), mu=np.zeros(4), sigma=np.zeros((4, 3)))
np.savez(os.path.join(t, 'one.npz'), arr_0=np.zeros((1, 8, 8, 3), np.uint8))
os.makedirs(os.path.join(t, 'empty'))
with open(os.path.join(t, 'empty', 'notes.txt'), 'w') as f:
    f.write('no images here\n')
os.makedirs(os.path.join(t, 'badpng'))
with open(os.path.join(t, 'badpng', '000.png'), 'wb') as f:
    f.write(b'\x89PNG\r\n\x1a\n garbage')
with open(os.path.join(t, 'notzip.npz'), 'wb') as f:
    f.write(b'not a zip archive at all' * 4)
import zipfile
zipfile.ZIP64_LIMIT = 1000  # every entry and offset above 1000 bytes gets ZIP64 records, as in a multi-GB batch
with np.load(os.path.join(t, 'tiny', 'a.npz')) as f:
    np.savez(os.path.join(t, 'zip64.npz'), arr_0=f['arr_0'])
with open(os.path.join(t, 'tiny', 'a.npz'), 'rb') as f:
    blob = f.read()
with open(os.path.join(t, 'trunc.npz'), 'wb') as f:
    f.write(blob[:len(blob) // 2] + blob[-200:])  # central directory intact, data cut
EOF
run zip64 "$DITC" fid "$T/zip64.npz" --inception "$W" --save-features "$T/zip64_feat.npz" --batch 7 --threads 1
cmp -s "$T/det1.npz" "$T/zip64_feat.npz"
check $? "an .npz with ZIP64 records (central directory, end record) reads the same pixels: identical features"
bad() { # NAME EXPECTED_TEXT ARGS...: non-zero exit (not a crash), one line naming EXPECTED_TEXT
    local name=$1 want=$2
    shift 2
    run "bad_$name" "$DITC" fid "$@"
    local rc=$? lines
    lines=$(wc -l <"$T/bad_$name.err")
    if [ $rc -ne 0 ] && [ $rc -lt 128 ] && [ "$lines" -eq 1 ] && grep -qF -- "$want" "$T/bad_$name.err"; then
        pass "bad input $name: exit $rc, '$(cat "$T/bad_$name.err")'"
    else
        fail "bad input $name: exit $rc, $lines line(s), expected a message with '$want'"; show "bad_$name"
    fi
}
I=$T/tiny/a.npz
bad missing_weights "$T/nope.safetensors" "$I" "$T/tiny/b.npz" --inception "$T/nope.safetensors"
bad no_inception_flag "--inception" "$I" "$T/tiny/b.npz"
bad wrong_shape "Mixed_6b.branch7x7_2.conv.weight" "$I" "$T/tiny/b.npz" --inception "$T/bad_shape.safetensors"
bad arr0_float32 "float32" "$T/f32.npz" "$I" --inception "$W"
bad arr0_2dims "(4, 8)" "$T/twodim.npz" "$I" --inception "$W"
bad no_images "$T/empty" "$T/empty" "$I" --inception "$W"
bad corrupt_png "$T/badpng/000.png" "$T/badpng" "$I" --inception "$W"
bad no_arrays "$T/nokey.npz" "$T/nokey.npz" "$I" --inception "$W"
bad sigma_shape "$T/badsigma.npz" "$T/badsigma.npz" "$T/tiny/a.stats.npz"
bad dims_differ "256-d" "$T/frechet_n100_d256/f1.npz" "$T/full/a.stats.npz"
bad one_sample "at least 2" "$T/one.npz" "$I" --inception "$W"
bad not_zip "$T/notzip.npz" "$T/notzip.npz" "$I" --inception "$W"
bad truncated "$T/trunc.npz" "$T/trunc.npz" "$I" --inception "$W"
bad missing_input "$T/nothing.npz" "$T/nothing.npz" "$I" --inception "$W"
bad one_input "two inputs" "$I" --inception "$W"
bad two_for_save "--save-stats" --save-stats "$T/x.npz" "$I" "$I" --inception "$W"
bad bad_batch "--batch" "$I" "$I" --inception "$W" --batch 0
bad device_no_kernels "cpu-guard" "$I" "$T/tiny/b.npz" --inception "$W" --device cpu-guard
bad unknown_flag "--frobnicate" "$I" "$I" --frobnicate 1

# ---- train --fid-every: the logged FID = `ditc sample --npz` of the checkpoint's EMA + `ditc fid` -------------
make_idx "$T/idx" 64 8 10
run fid_train "$DITC" train --model DiT-S/2 --depth 1 --hidden-size 32 --num-heads 2 --data-path "$T/idx" \
    --global-batch-size 8 --num-workers 1 --threads 1 --global-seed 4 --max-steps 10 --ckpt-every 10 --log-every 5 \
    --fid-every 5 --fid-samples 12 --fid-steps 4 --fid-ref "$T/a_stats.npz" --inception "$W" --results-dir "$T/ft"
fcsv=$(ls "$T"/ft/*/metrics.csv 2>/dev/null)
f10=$(awk -F, '$1 == 10 { print $13 }' "$fcsv" 2>/dev/null)
run fid_npz "$DITC" sample --ckpt "$(ls -d "$T"/ft/*/checkpoints/0000010)" --npz "$T/ft.npz" --num-samples 12 \
    --sampler ddim --num-sampling-steps 4 --cfg-scale 1.5 --seed 4 --threads 1 &&
    run fid_of_npz "$DITC" fid "$T/ft.npz" "$T/a_stats.npz" --inception "$W" --threads 1
r=$(relclose "$f10" "$(fid_of fid_of_npz)" 1e-5)
check $? "train --fid-every 5: FID-12 at step 10 in metrics.csv ($f10, also at step 5: $(awk -F, '$1 == 5 { print $13 }' "$fcsv")) = ditc sample --npz + ditc fid of checkpoint 10's EMA ($(fid_of fid_of_npz)): relative $r"
grep -q "(step=0000010) FID-12: " "$T/fid_train.out"
check $? "the FID is logged: '$(grep -o 'FID-12: .*' "$T/fid_train.out" | tail -n 1 | cut -c1-80)'"

echo "$TEST_NAME: $NPASS passed, $NFAIL failed"
[ "$NFAIL" -eq 0 ]
