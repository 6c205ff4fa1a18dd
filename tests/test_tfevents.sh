#!/usr/bin/env bash
# test_tfevents.sh TEST_TFEVENTS SRC — event files of core/util/tfevents.c read back by TensorBoard's own Python
# reader (tests/reference/read_tfevents.py): `test_tfevents write` writes known scalars (loss, lr, grad norm,
# images/s, data wait, skipped updates, FID; NaN, inf, -0, a denormal, FLT_MAX, steps up to 2^40, a UTF-8 and a
# 200-byte tag) and prints them; TensorBoard must read exactly those tags, steps, float32 values and wall times,
# from the file and from its run directory, and must reject the file with one corrupted byte.
# Skipped (77) when /usr/bin/python3 cannot import tensorboard (scripts/install-deps.sh installs it).
source "$(dirname "$0")/test_lib.sh"
WRITER=$DITC
READ=$REF/read_tfevents.py
if ! "$PY" -c 'import tensorboard.backend.event_processing.plugin_event_accumulator' >/dev/null 2>&1; then
    echo "SKIP $TEST_NAME: $PY cannot import tensorboard (scripts/install-deps.sh installs it)"
    exit 77
fi
# normalize: "tag,step,value,wall_time" lines with every float as Python's repr (C printed %.17g)
normalize() {
    "$PY" -c '
import sys
for line in sys.stdin:
    tag, step, value, wall = line.rstrip("\n").rsplit(",", 3)
    print(f"{tag},{int(step)},{float(value)!r},{float(wall)!r}")'
}

mkdir -p "$TMP/run"
if ! run write "$WRITER" write "$TMP/run"; then
    fail "test_tfevents write $TMP/run"
    show write
    finish
fi
file=$(ls "$TMP"/run/events.out.tfevents.* 2>/dev/null)
check $? "the writer created $(basename "$file")"
# TensorBoard lists tags sorted and each tag's points in file order: a stable sort on the tag
normalize <"$TMP/write.out" | LC_ALL=C sort -s -t, -k1,1 >"$TMP/expected.csv"
echo "  $(wc -l <"$TMP/expected.csv") scalars written, e.g. $(sed -n 2p "$TMP/write.out")"

run file "$PY" "$READ" "$file" --wall-time
rc=$?
if [ $rc -eq 0 ] && diff "$TMP/expected.csv" "$TMP/file.out" >"$TMP/file.diff"; then
    pass "TensorBoard reads the file: every tag, step, float32 value and wall time exact"
else
    fail "TensorBoard's reading of the file differs (read_tfevents.py exit $rc)"
    show file
    head -n 20 "$TMP/file.diff"
fi

cut -d, -f1-3 "$TMP/expected.csv" >"$TMP/expected3.csv"
run dir "$PY" "$READ" "$TMP/run"
rc=$?
if [ $rc -eq 0 ] && diff "$TMP/expected3.csv" "$TMP/dir.out" >"$TMP/dir.diff"; then
    pass "TensorBoard reads the run directory (as tensorboard --logdir does): the same scalars"
else
    fail "TensorBoard's reading of the run directory differs (read_tfevents.py exit $rc)"
    show dir
    head -n 20 "$TMP/dir.diff"
fi

# one byte of the last record's data corrupted: TensorBoard's reader must see a CRC mismatch
cp "$file" "$TMP/bad.tfevents"
"$PY" -c '
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) - 6] ^= 0x40
open(p, "wb").write(b)' "$TMP/bad.tfevents"
run bad "$PY" "$READ" "$TMP/bad.tfevents"
rc=$?
if [ $rc -eq 1 ] && grep -q "crc32 check" "$TMP/bad.err"; then
    pass "a corrupted byte: TensorBoard's reader reports \"$(tail -n 1 "$TMP/bad.err" | sed 's/.*: //')\""
else
    fail "a corrupted byte was not reported as a CRC error (read_tfevents.py exit $rc)"
    show bad
fi
finish
