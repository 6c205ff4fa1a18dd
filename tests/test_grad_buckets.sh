#!/usr/bin/env bash
# test_grad_buckets.sh DITC ST_COMPARE — the bucketed gradient reduction issued during the backward pass
# (core/run/grad_reduce.c; ctest label mpi), with Open MPI:
#  1. buckets (--grad-bucket-mb 0.01: ~11 buckets of this model) give the same weights as one reduction after the
#     backward (--grad-bucket-mb 0): bit for bit at -np 2 (a sum of two is the same either way), within 1e-5 at
#     -np 3; data parallel and --zero 2; with micro-batches + --grad-checkpoint; with SophiaG (its Hessian pass is
#     bucketed too); and within 1e-5 of the single-process run;
#  2. buckets are in flight during backward: rank 0's trace (DITC_TEST_BUCKET_TRACE) shows every bucket started
#     before the backward ended (tape nodes still to run) and buckets seen complete while backward still ran;
#  3. the test hooks' steps (DITC_TEST_INJECT_NAN) still skip on every rank alike (reduced after backward).
# Exits 77 (skip) without mpirun or an MPI build of ditc.
. "$(dirname "$0")/mpi_lib.sh"
CMP="$2"
T=(--data-path synthetic --synthetic-size 96 --image-size 8 --model DiT-S/2 --depth 2 --hidden-size 32 --num-heads 2
   --patch-size 2 --global-batch-size 12 --log-every 1 --num-workers 0 --threads 1 --max-steps 8 --ckpt-every 8)
mpi_probe T

run() { # np dir extra...
  local np=$1 d=$2; shift 2
  timeout 300 "${MPI[@]}" "$np" "$DITC" train "${T[@]}" --results-dir "$TMP/$d" "$@" > "$TMP/$d.log" 2>&1
}
ckpt() { ls -d "$TMP/$1"/*/checkpoints/0000008 | head -1; }
same() { # dir_a dir_b tolerance what
  local ok=0
  for f in model ema optimizer; do
    "$CMP" "$(ckpt "$1")/$f.safetensors" "$(ckpt "$2")/$f.safetensors" "$3" | sed 's/^/      /'
    [ "${PIPESTATUS[0]}" = 0 ] || ok=1
  done
  check $ok "$4"
}

timeout 300 "$DITC" train "${T[@]}" --results-dir "$TMP/np1" > "$TMP/np1.log" 2>&1; check $? "np 1: 8 steps"
for np in 2 3; do
  tol=1e-5; [ "$np" = 2 ] && tol=0
  for z in 0 2; do
    run "$np" b$np-z$z --zero "$z" --grad-bucket-mb 0.01; check $? "np $np zero $z: buckets of 0.01 MiB"
    run "$np" n$np-z$z --zero "$z" --grad-bucket-mb 0; check $? "np $np zero $z: one reduction after backward"
    grep -q "gradient .* in 1[0-9] buckets" "$TMP/b$np-z$z.log"; check $? "np $np zero $z: the log names the buckets ($(grep -o 'gradient .* buckets' "$TMP/b$np-z$z.log"))"
    same b$np-z$z n$np-z$z $tol "np $np zero $z: bucketed = after-backward reduction (tolerance $tol)"
    same b$np-z$z np1 1e-5 "np $np zero $z: bucketed = np 1 within 1e-5"
  done
done

# micro-batches (3 per rank) with gradient checkpointing: the last micro-batch's backward carries the buckets
run 2 bmc --grad-bucket-mb 0.01 --micro-batch-size 2 --grad-checkpoint; check $? "np 2: micro-batches + grad checkpoint, buckets"
run 2 nmc --grad-bucket-mb 0 --micro-batch-size 2 --grad-checkpoint; check $? "np 2: micro-batches + grad checkpoint, after backward"
same bmc nmc 0 "np 2 micro-batches + grad checkpoint: bucketed = after-backward reduction, bit for bit"

# SophiaG: the Hessian (GNB) pass is bucketed as well
run 2 bso --grad-bucket-mb 0.01 --optimizer sophiag --hessian-every 3; check $? "np 2 SophiaG: buckets"
run 2 nso --grad-bucket-mb 0 --optimizer sophiag --hessian-every 3; check $? "np 2 SophiaG: after backward"
same bso nso 0 "np 2 SophiaG (Hessian every 3 steps): bucketed = after-backward reduction, bit for bit"

# 2. in flight during backward (rank 0's trace: one line per bucket and backward). A wider, deeper model than above,
# so that a backward pass lasts longer than the ranks' drift under a loaded machine (seen idle and beside a CI run:
# 115-158 of 192 reductions complete while backward runs).
DITC_TEST_BUCKET_TRACE="$TMP/trace.txt" timeout 300 "${MPI[@]}" 2 "$DITC" train "${T[@]}" --image-size 16 --depth 4 \
    --hidden-size 192 --num-heads 3 --grad-bucket-mb 0.05 --results-dir "$TMP/trace" > "$TMP/trace.log" 2>&1
check $? "np 2: traced run (depth 4, width 192, 16x16)"
awk '{for (i = 1; i < NF; i++) v[$i] = $(i + 1); n++; if (v["launched"] > 0) early++; if (v["done"] > 0) during++;
      if (v["ready"] >= 0 && v["launched"] != v["ready"]) bad++}
     END {printf "      %d bucket reductions traced: %d started with backward nodes still to run, %d seen complete while backward ran, %d not started right at their last node\n", n, early, during, bad;
          exit !(n >= 160 && early >= n / 2 && during >= 8 && bad == 0)}' "$TMP/trace.txt"
check $? "buckets start as soon as final and complete while the backward pass still runs"

# 3. a NaN injected on rank 0 at step 3: every rank skips that update (the run continues, the same weights as np 1
# with the same injection)
DITC_TEST_INJECT_NAN=3 run 2 nan --grad-bucket-mb 0.01; rc=$?
DITC_TEST_INJECT_NAN=3 timeout 300 "$DITC" train "${T[@]}" --results-dir "$TMP/nan1" > "$TMP/nan1.log" 2>&1
[ $rc = 0 ] && grep -q "skip" "$TMP/nan.log"; check $? "np 2: the NaN step is skipped ($(grep -m1 -i 'skip' "$TMP/nan.log" | cut -c1-100))"
same nan nan1 1e-5 "np 2 with a NaN step: the same weights as np 1 with it"

echo "test_grad_buckets: $passes passed, $fails failed"
[ $fails -eq 0 ]
