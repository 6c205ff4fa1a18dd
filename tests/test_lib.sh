# test_lib.sh — helpers shared by the acceptance scripts tests/test_*.sh (sourced, never run by itself).
# Every script is run as `bash tests/test_X.sh DITC_BINARY SOURCE_DIR`; it works in a fresh temporary
# directory (removed on exit), prints one line per check and a final line, and exits 0 (pass), 1 (fail)
# or 77 (skipped: a prerequisite such as PyTorch is absent).
set -u
DITC=${1:?usage: bash $0 DITC_BINARY SOURCE_DIR}
SRC=${2:?usage: bash $0 DITC_BINARY SOURCE_DIR}
TEST_NAME=$(basename "$0" .sh)
# The PyTorch reference runs with this interpreter: DITC_TEST_PYTHON, else /usr/bin/python3 (Debian's, with
# python3-torch), else the python3 on PATH (e.g. a venv on a GPU machine without a Debian Python).
PY=${DITC_TEST_PYTHON:-/usr/bin/python3}
[ -n "${DITC_TEST_PYTHON:-}" ] || [ -x "$PY" ] || PY=$(command -v python3 || echo /usr/bin/python3)
REF=$SRC/tests/reference
FMNIST=/usr/share/datasets/fashion-mnist
NFAIL=0
NPASS=0
# ctest -j runs several tests at once, each with OMP_NUM_THREADS threads: spinning OpenMP workers then slow
# the CPU backend down ~7x on a 2-core machine. Sleeping workers change no result (the reductions do not
# depend on the thread count) and keep the suite fast.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
if [ ! -x "$DITC" ]; then echo "FAIL $TEST_NAME: ditc binary '$DITC' is not executable"; exit 1; fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ditc-$TEST_NAME.XXXXXX") || { echo "FAIL $TEST_NAME: mktemp"; exit 1; }
trap 'rm -rf "$TMP"' EXIT

pass() { NPASS=$((NPASS + 1)); echo "PASS $*"; }
fail() { NFAIL=$((NFAIL + 1)); echo "FAIL $*"; }
# check COND_STATUS MESSAGE: pass if the status is 0
check() { if [ "$1" -eq 0 ]; then pass "$2"; else fail "$2"; fi; }

have_torch() { "$PY" -c 'import torch, numpy' >/dev/null 2>&1; }
need_torch() {
    if ! have_torch; then
        echo "SKIP $TEST_NAME: $PY cannot import torch and numpy (the PyTorch reference is needed)"
        exit 77
    fi
}

# run NAME CMD...: runs CMD with stdout/stderr to $TMP/NAME.out/.err; returns its exit status.
run() {
    local name=$1
    shift
    "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
}
# show NAME: prints the tail of a command's output (used after a failure).
show() {
    echo "---- $1 stdout (tail) ----"
    tail -n 30 "$TMP/$1.out" 2>/dev/null
    echo "---- $1 stderr (tail) ----"
    tail -n 30 "$TMP/$1.err" 2>/dev/null
    echo "----"
}

# A fresh tiny run: tiny_train RESULTS_DIR [extra flags]: DiT-S/4 with depth 2, hidden 64, 4 heads on the
# synthetic 4x16x16 data set (64 samples, 10 classes).
tiny_train_flags=(--model DiT-S/4 --depth 2 --hidden-size 64 --num-heads 4 --data-path synthetic
                  --synthetic-size 64 --image-size 16 --num-classes 10 --global-batch-size 8)

# make_idx DIR N SIDE K: a small IDX data set (train-images-idx3-ubyte, train-labels-idx1-ubyte) of N
# SIDE x SIDE images with labels i mod K (K <= 256, N < 65536, SIDE < 256).
make_idx() {
    local dir=$1 n=$2 side=$3 k=$4 i
    mkdir -p "$dir"
    {
        printf '\x00\x00\x08\x03\x00\x00'
        printf "\\x$(printf %02x $((n / 256)))\\x$(printf %02x $((n % 256)))"
        printf "\\x00\\x00\\x00\\x$(printf %02x "$side")\\x00\\x00\\x00\\x$(printf %02x "$side")"
        seq 1 $((n * side * side)) | head -c $((n * side * side)) # deterministic bytes (digits, newlines)
    } >"$dir/train-images-idx3-ubyte"
    {
        printf '\x00\x00\x08\x01\x00\x00'
        printf "\\x$(printf %02x $((n / 256)))\\x$(printf %02x $((n % 256)))"
        for ((i = 0; i < n; i++)); do printf "\\x$(printf %02x $((i % k)))"; done
    } >"$dir/train-labels-idx1-ubyte"
}

# parity_case NAME HEADS STEPS LR MAKE_CASE_ARGS...: the reference writes weights, a batch and its results
# (dit_reference.py make-case --out $TMP/NAME --grads --train-steps STEPS --lr LR MAKE_CASE_ARGS), `ditc check`
# computes the same, compare.py applies the tolerances; prints the headline keys and any failure.
parity_case() {
    local name=$1 heads=$2 steps=$3 lr=$4
    shift 4
    local dir=$TMP/$name
    if ! run "$name.make" "$PY" "$REF/dit_reference.py" make-case --out "$dir" "$@" --heads "$heads" --seed 3 --grads \
        --train-steps "$steps" --lr "$lr"; then
        fail "$name: dit_reference.py make-case"
        show "$name.make"
        return
    fi
    sed -n 1p "$TMP/$name.make.out"
    if ! run "$name.check" "$DITC" check --ckpt "$dir/weights.safetensors" --inputs "$dir/inputs.safetensors" \
        --out "$dir/got.safetensors" --num-heads "$heads" --grads --train-steps "$steps" --lr "$lr"; then
        fail "$name: ditc check exited non-zero"
        show "$name.check"
        return
    fi
    compare_results "$name" "$dir" --train-steps
}

# compare_results NAME DIR [compare.py flags]: DIR/{expected,got,inputs}.safetensors within the tolerances.
compare_results() {
    local name=$1 dir=$2 rc ngrad nparam
    shift 2
    run "$name.compare" "$PY" "$REF/compare.py" --expected "$dir/expected.safetensors" --got "$dir/got.safetensors" \
        --inputs "$dir/inputs.safetensors" --grads "$@"
    rc=$?
    # the headline keys, then any failure
    grep -E '^(PASS|FAIL) (output|x_t|mse|vb|loss|loss_steps) ' "$TMP/$name.compare.out" | sed 's/^/  /'
    grep -E '^FAIL' "$TMP/$name.compare.out" | grep -vE '^FAIL (output|x_t|mse|vb|loss|loss_steps) ' | sed 's/^/  /'
    ngrad=$(grep -c '^PASS grad\.' "$TMP/$name.compare.out")
    nparam=$(grep -c '^PASS param\.' "$TMP/$name.compare.out")
    echo "  $ngrad gradient tensors and $nparam parameter tensors within tolerance"
    if [ "$ngrad" -eq 0 ] || { [[ " $* " == *" --train-steps "* ]] && [ "$nparam" -eq 0 ]; }; then rc=1; fi
    check "$rc" "$name: compare.py: $(tail -n 1 "$TMP/$name.compare.out")"
    [ "$rc" -eq 0 ] || show "$name.compare"
}

# make_vae_and_images VAE_DIR IMG_DIR: a small random AutoencoderKL (vae_reference.py make-bad; the good one is
# VAE_DIR/good) and an ImageFolder of 12 random PNGs in two classes (40..60 x 48 pixels). Needs numpy + PIL.
make_vae_and_images() {
    run vae "$PY" "$REF/vae_reference.py" make-bad --out "$1" || { fail "vae_reference.py make-bad"; show vae; return 1; }
    "$PY" - "$2" <<'PYEOF'
import os, sys
import numpy as np
from PIL import Image
r = np.random.default_rng(0)
for c in ('cat', 'dog'):
    os.makedirs(os.path.join(sys.argv[1], c), exist_ok=True)
    for i in range(6):
        a = (r.random((40 + 4 * i, 48, 3)) * 255).astype(np.uint8)
        Image.fromarray(a).save(os.path.join(sys.argv[1], c, f'{i}.png'))
PYEOF
}

finish() {
    if [ "$NFAIL" -eq 0 ]; then
        echo "$TEST_NAME: ALL PASS ($NPASS checks, ${SECONDS}s)"
        exit 0
    fi
    echo "$TEST_NAME: $NFAIL FAILED, $NPASS passed (${SECONDS}s)"
    exit 1
}
