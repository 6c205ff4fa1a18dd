#!/usr/bin/env bash
# test_pt_write.sh DITC SRC — `ditc convert IN.safetensors OUT.pt` writes a torch.save file that PyTorch's
# torch.load(weights_only=True) accepts: an OrderedDict whose tensors equal the input's bit for bit, for every dtype
# (F32, F16, BF16, F64, I64, I32, U8), 0-d and empty tensors, sizes past 65535 (LONG1 ints), in the input's order;
# ditc reads it back (convert .pt → .safetensors = the input's tensors) and `train --init-from` takes it. ZIP64 (forced
# with DITC_PT_FORCE_ZIP64=1; used past 4 GiB): torch.load and Python's zipfile read it, its ZIP64 end records are
# there, ditc reads it back. A write that fails (file-size limit) leaves neither the file nor a temporary.
source "$(dirname "$0")/test_lib.sh"
need_torch
"$PY" -c 'import safetensors' 2>/dev/null || { echo "SKIP $TEST_NAME: no safetensors for $PY"; exit 77; }

"$PY" - "$TMP/in.safetensors" <<'EOF2'
import sys, torch
from collections import OrderedDict
from safetensors.torch import save_file
g = torch.Generator().manual_seed(0)
t = OrderedDict()
t['w.f32'] = torch.randn(3, 5, generator=g)
t['w.f16'] = torch.randn(4, 2, generator=g).half()
t['w.bf16'] = torch.randn(7, generator=g).bfloat16()
t['w.f64'] = torch.randn(2, 2, 2, generator=g).double()
t['n.i64'] = torch.tensor([-(2 ** 40), 5, 2 ** 40])
t['n.i32'] = torch.tensor([-7, 0, 2 ** 30], dtype=torch.int32)
t['n.u8'] = torch.arange(0, 256, dtype=torch.uint8)
t['zero_d'] = torch.tensor(3.5)
t['empty'] = torch.zeros(0, 4)
t['big'] = torch.randn(70000, generator=g)
save_file(t, sys.argv[1], metadata={'note': 'x'})
EOF2
run conv "$DITC" convert "$TMP/in.safetensors" "$TMP/out.pt"
check $? "ditc convert IN.safetensors OUT.pt" || show conv
"$PY" - "$TMP/in.safetensors" "$TMP/out.pt" >"$TMP/load.out" 2>&1 <<'EOF2'
import sys, torch
from collections import OrderedDict
from safetensors.torch import load_file
a = load_file(sys.argv[1])
b = torch.load(sys.argv[2], weights_only=True)
ok = isinstance(b, OrderedDict) and list(b) == list(a) and all(
    b[k].dtype == a[k].dtype and b[k].shape == a[k].shape and torch.equal(b[k], a[k]) for k in a)
print(f'{len(b)} tensors, order {list(b)[:3]}..., equal {ok}')
sys.exit(0 if ok else 1)
EOF2
check $? "torch.load(weights_only=True) accepts it; every tensor, dtype, shape and the order equal: $(tail -1 "$TMP/load.out")"
run back "$DITC" convert "$TMP/out.pt" "$TMP/back.safetensors" &&
    "$PY" -c "
import sys
import torch
from safetensors.torch import load_file
a, b = load_file('$TMP/in.safetensors'), load_file('$TMP/back.safetensors')
sys.exit(0 if a.keys() == b.keys() and all(torch.equal(a[k], b[k]) and a[k].dtype == b[k].dtype for k in a) else 1)"
check $? "ditc reads its own .pt back (convert OUT.pt → .safetensors = the input)"
# ZIP64
DITC_PT_FORCE_ZIP64=1 run z64 "$DITC" convert "$TMP/in.safetensors" "$TMP/z64.pt"
check $? "ditc convert with DITC_PT_FORCE_ZIP64=1" || show z64
"$PY" - "$TMP/in.safetensors" "$TMP/z64.pt" >"$TMP/z64load.out" 2>&1 <<'EOF2'
import sys, zipfile, torch
from safetensors.torch import load_file
a = load_file(sys.argv[1])
raw = open(sys.argv[2], 'rb').read()
z = zipfile.ZipFile(sys.argv[2])
bad = z.testzip()  # every member's CRC-32
b = torch.load(sys.argv[2], weights_only=True)
ok = (b'PK\x06\x06' in raw[-200:] and b'PK\x06\x07' in raw[-200:] and bad is None and
      all(i.extra[:2] == b'\x01\x00' for i in z.infolist()) and list(b) == list(a) and
      all(torch.equal(b[k], a[k]) and b[k].dtype == a[k].dtype for k in a))
print(f'{len(z.infolist())} members with ZIP64 extras, end records present, CRCs ok, {len(b)} tensors equal: {ok}')
sys.exit(0 if ok else 1)
EOF2
check $? "ZIP64 .pt: $(tail -1 "$TMP/z64load.out")"
run z64back "$DITC" convert "$TMP/z64.pt" "$TMP/z64back.safetensors" && cmp -s "$TMP/back.safetensors" "$TMP/z64back.safetensors"
check $? "ditc reads its ZIP64 .pt back (the same safetensors as from the plain .pt)"

# a failed write: a 64 KiB file-size limit (EFBIG) while writing the 280 kB file
(
    trap '' XFSZ
    ulimit -f 64
    exec "$DITC" convert "$TMP/in.safetensors" "$TMP/limited.pt"
) >"$TMP/lim.out" 2>"$TMP/lim.err"
rc=$?
[ $rc != 0 ] && grep -q "limited.pt: cannot save (write of temporary file .*File too large" "$TMP/lim.err" &&
    [ -z "$(ls "$TMP"/limited.pt* 2>/dev/null)" ]
check $? "a failed write: exit $rc, '$(head -c 110 "$TMP/lim.err")', no file or temporary left"

if run src "$DITC" train "${tiny_train_flags[@]}" --num-workers 0 --no-tensorboard --results-dir "$TMP/src" --max-steps 1; then
    CK=$(echo "$TMP"/src/000-*/checkpoints/0000001)
    run c2 "$DITC" convert "$CK/ema.safetensors" "$TMP/ema.pth" &&
        run init "$DITC" train "${tiny_train_flags[@]}" --num-workers 0 --no-tensorboard --results-dir "$TMP/i" \
            --max-steps 0 --init-from "$TMP/ema.pth" &&
        "$PY" -c "
import sys
from safetensors.numpy import load_file
a, b = load_file('$CK/ema.safetensors'), load_file('$(echo "$TMP"/i/000-*/checkpoints/0000000)/model.safetensors')
sys.exit(0 if len(a) > 10 and a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a) else 1)"
    check $? "a ditc checkpoint as .pth: train --init-from takes it"
fi
finish
