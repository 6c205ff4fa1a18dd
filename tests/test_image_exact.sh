#!/usr/bin/env bash
# test_image_exact.sh TEST_BIN SRC_DIR — ditc's JPEG/PNG decoding, Pillow resampler and center_crop_arr against
# Pillow, byte for byte: TEST_BIN (tests/test_image_exact.c) writes a few libjpeg-only JPEG variants, then
# tests/reference/pillow_crop.py (Pillow 9.4 on /usr/bin/python3) writes the corpus and the expected arrays into
# a temporary directory, then TEST_BIN compares. Exit 77 (skipped) when /usr/bin/python3 has no Pillow/numpy.
set -u
BIN=${1:?usage: test_image_exact.sh TEST_BIN SRC_DIR}
SRC=${2:?usage: test_image_exact.sh TEST_BIN SRC_DIR}
PY=/usr/bin/python3
if ! "$PY" -c "import PIL, numpy" >/dev/null 2>&1; then
    echo "test_image_exact: SKIP ($PY with Pillow and numpy not found)"
    exit 77
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ditc_image_exact.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
"$BIN" --prepare "$TMP" || { echo "test_image_exact: --prepare failed"; exit 1; }
"$PY" "$SRC/tests/reference/pillow_crop.py" "$TMP" || { echo "test_image_exact: pillow_crop.py failed"; exit 1; }
"$BIN" "$TMP"
