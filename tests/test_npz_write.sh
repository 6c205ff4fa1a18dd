# test_npz_write.sh TEST_NPZ_WRITE SRC — the npz writer's unit checks (tests/test_npz_write.c), then its full-size
# ADM layout (50000 x 256 x 256 x 3, a 9.8 GB sparse file) read by Python: zipfile sees two stored members with
# ZIP64 sizes and offsets, arr_1 (beyond 4 GiB) is read through zipfile with its CRC32 checked and equals i mod
# 1000, and numpy parses arr_0's NPY header to (50000, 256, 256, 3) uint8. Needs numpy (no torch).
. "$(dirname "$0")/test_lib.sh"
"$PY" -c 'import numpy' 2>/dev/null || { echo "SKIP $TEST_NAME: $PY cannot import numpy"; exit 77; }
run unit "$DITC" "$TMP"
check $? "test_npz_write: $(tail -n 1 "$TMP/unit.out")"
grep '^\[FAIL' "$TMP/unit.out"
if [ -f "$TMP/big.npz" ]; then
    run big "$PY" - "$TMP/big.npz" <<'PYEOF'
import sys, zipfile
import numpy as np
with zipfile.ZipFile(sys.argv[1]) as z:
    i0, i1 = z.infolist()
    assert (i0.filename, i1.filename) == ('arr_0.npy', 'arr_1.npy')
    assert i0.file_size == 128 + 50000 * 256 * 256 * 3 and i1.header_offset > 2**32, (i0.file_size, i1.header_offset)
    y = np.lib.format.read_array(z.open('arr_1.npy'))  # reads to the end: zipfile checks the CRC32
    assert y.dtype == np.int64 and (y == np.arange(50000) % 1000).all()
    with z.open('arr_0.npy') as f:
        version = np.lib.format.read_magic(f)
        shape, fortran, dtype = np.lib.format._read_array_header(f, version)
    assert version == (1, 0) and shape == (50000, 256, 256, 3) and not fortran and dtype == np.uint8
print(f'arr_1 at offset {i1.header_offset} read with its CRC; arr_0 header {shape} {dtype}')
PYEOF
    check $? "9.8 GB ZIP64 file read by zipfile + numpy: $(tail -n 1 "$TMP/big.out")"
    [ -s "$TMP/big.err" ] && show big
fi
finish
