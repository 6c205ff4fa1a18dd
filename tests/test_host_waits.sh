# test_host_waits.sh — a training step waits for the device once (issue 18, item 4), counted on the CPU emulation
# of CUDA (ctest label gpu; -DDITC_CUDA_EMU=ON). Exit 77 elsewhere: only the emulation counts the waits.
# usage: bash tests/test_host_waits.sh DITC SOURCE_DIR
#
# A host wait is a call after which the host blocks until the device has done the work issued before it (a stream,
# event or device synchronisation, a blocking copy, a copy into pageable memory); the emulation counts one only if
# work was issued since the last (tests/cuda_emu/cuemu_runtime.cc, CUEMU_WAITS=FILE). Each configuration trains 2
# and then 4 steps; the difference is 2 steps' waits, the set-up and the final checkpoint cancelling out:
#   - one wait per step: the loss and the gradient's Σ g² read back together (core/run/step_scalars.h) — plain,
#     micro-batches (4 forward passes a step), --grad-checkpoint (recomputed forwards), bf16 with clipping, a log
#     line every step; the class labels are checked on the host, the embedding kernel's flag is not read back;
#     and no allocation after the first steps (the same count of device and pinned allocations after 2 and 4);
#   - `mpirun -np 2 --comm nccl` (device collectives; the emulation's 3 devices): two per step on each rank, the
#     loss before the gradient's reduction over the ranks and Σ g² after it (several ranks: skipped without
#     mpirun or an NCCL build);
#   - `ditc bench`: the measured steps wait once each as training does, the steps "without host waits" not at all;
#     neither allocates.
. "$(dirname "$0")/test_lib.sh"
TINY=(--model DiT-S/2 --depth 1 --hidden-size 32 --num-heads 2 --image-size 8 --data-path synthetic
      --synthetic-size 64 --num-classes 10 --num-workers 0 --device cuda --ckpt-every 1000)

# waits FILE [KEY]: the host waits (or KEY's count, e.g. allocs) counted in FILE (or "none")
waits() {
    awk -v k="${2:-host_waits}" '$1 == k {print $2; found = 1} END {if (!found) print "none"}' "$1" 2>/dev/null ||
        echo none
}

# probe: is this the emulation (the counter file appears)?
if ! CUEMU_WAITS="$TMP/probe.txt" "$DITC" bench --device cuda --steps 1 --warmup 0 --depth 1 --hidden-size 32 \
    --num-heads 1 --image-size 8 --batch 1 --gemm-size 64 >"$TMP/probe.out" 2>&1 || [ ! -s "$TMP/probe.txt" ]; then
    echo "SKIP $TEST_NAME: not the CPU emulation of CUDA ($(tail -n 1 "$TMP/probe.out" | cut -c1-100)); only it counts host waits"
    exit 77
fi

# per_step NAME EXPECTED FLAGS...: trains 2 and 4 steps with FLAGS; (waits(4) − waits(2)) / 2 must be EXPECTED
per_step() {
    local name=$1 want=$2 n w2 w4
    shift 2
    for n in 2 4; do
        if ! CUEMU_WAITS="$TMP/$name.$n.txt" "$DITC" train "${TINY[@]}" "$@" --max-steps $n \
            --results-dir "$TMP/$name.$n" >"$TMP/$name.$n.out" 2>&1; then
            fail "$name: ditc train exited non-zero: $(tail -n 2 "$TMP/$name.$n.out" | tr '\n' ' ')"
            return
        fi
    done
    w2=$(waits "$TMP/$name.2.txt") w4=$(waits "$TMP/$name.4.txt")
    a2=$(waits "$TMP/$name.2.txt" allocs) a4=$(waits "$TMP/$name.4.txt" allocs)
    [ "$w2" != none ] && [ "$w4" != none ] && [ $((w4 - w2)) -eq $((2 * want)) ] && [ "$a2" != none ] && [ "$a2" = "$a4" ]
    check $? "$name: $( [ "$w2" != none ] && [ "$w4" != none ] && echo "$(((w4 - w2) / 2))" || echo '?') host wait(s) per step (expected $want; $w2 after 2 steps, $w4 after 4; $(grep '^wait ' "$TMP/$name.4.txt" | cut -d' ' -f2- | tr '\n' ',' | sed 's/,$//')), no device allocation in steps 3-4 ($a2 allocations after 2 steps, $a4 after 4)"
}

per_step plain 1 --global-batch-size 4 --log-every 1000
per_step micro_batches 1 --global-batch-size 8 --micro-batch-size 2 --log-every 1000
per_step grad_checkpoint 1 --global-batch-size 4 --grad-checkpoint --log-every 1000
per_step bf16_clip 1 --global-batch-size 4 --precision bf16 --max-grad-norm 1.0 --log-every 1000
per_step log_every_step 1 --global-batch-size 4 --log-every 1

# several ranks with device collectives: two waits per step on each rank
if command -v mpirun >/dev/null && "$DITC" train --help 2>&1 | grep -q -- '--comm'; then
    ok=1
    for n in 2 4; do
        CUEMU_DEVICES=3 CUEMU_WAITS="$TMP/nccl.$n.%p.txt" mpirun --allow-run-as-root --oversubscribe -np 2 \
            -x CUEMU_DEVICES -x CUEMU_WAITS -x OMP_NUM_THREADS=1 "$DITC" train "${TINY[@]}" --global-batch-size 4 \
            --comm nccl --log-every 1000 --max-steps $n --results-dir "$TMP/nccl.$n" >"$TMP/nccl.$n.out" 2>&1 || ok=0
    done
    if [ $ok = 0 ] && grep -qiE 'nccl.*(not built|without|unavailable)|DITC_NCCL' "$TMP"/nccl.*.out; then
        echo "SKIP nccl: $(grep -m1 -iE 'nccl' "$TMP"/nccl.2.out | cut -c1-120)"
    elif [ $ok = 0 ]; then
        fail "nccl: mpirun -np 2 ditc train --comm nccl exited non-zero: $(tail -n 2 "$TMP/nccl.2.out" | tr '\n' ' ')"
    else
        s2=$(for f in "$TMP"/nccl.2.*.txt; do waits "$f"; done | sort -n | tr '\n' ' ')
        s4=$(for f in "$TMP"/nccl.4.*.txt; do waits "$f"; done | sort -n | tr '\n' ' ')
        read -r a2 b2 <<<"$s2"
        read -r a4 b4 <<<"$s4"
        [ -n "${b4:-}" ] && [ $((a4 - a2)) -eq 4 ] && [ $((b4 - b2)) -eq 4 ]
        check $? "mpirun -np 2 --comm nccl: 2 host waits per step on each rank (the loss, then Σ g²; ranks: $s2-> $s4)"
    fi
else
    echo "SKIP nccl: no mpirun, or a build without --comm"
fi

# ditc bench: steps 2 vs 4 (each measured step waits once; the steps "without host waits" add none)
for n in 2 4; do
    CUEMU_WAITS="$TMP/bench.$n.txt" "$DITC" bench --device cuda --steps $n --warmup 1 --depth 1 --hidden-size 32 \
        --num-heads 2 --image-size 8 --batch 2 --gemm-size 64 >"$TMP/bench.$n.out" 2>&1 || fail "bench: exited non-zero: $(tail -n 1 "$TMP/bench.$n.out")"
done
w2=$(waits "$TMP/bench.2.txt") w4=$(waits "$TMP/bench.4.txt")
a2=$(waits "$TMP/bench.2.txt" allocs) a4=$(waits "$TMP/bench.4.txt" allocs)
[ "$w2" != none ] && [ "$w4" != none ] && [ $((w4 - w2)) -eq 2 ] && grep -q 'without host waits' "$TMP/bench.4.out" &&
    [ "$a2" != none ] && [ "$a2" = "$a4" ]
check $? "ditc bench: 1 host wait per measured step, none per step without host waits ($w2 with --steps 2, $w4 with 4), no allocation per step ($a2, $a4)"

echo "$TEST_NAME: $NPASS passed, $NFAIL failed"
[ "$NFAIL" -eq 0 ]
