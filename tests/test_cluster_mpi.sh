#!/usr/bin/env bash
# test_cluster_mpi.sh DITC — stop signals under mpirun (ctest label mpi): a signal delivered to one rank only
# (the last one, or only rank 0 as `srun` may do) makes every rank stop after the same step; rank 0 writes one
# complete checkpoint of that step; the job exits with status 75; `--resume latest` at the same world size then
# ends equal to an uninterrupted run bit for bit. Cases: -np 2 data parallel with SIGTERM to rank 1, -np 3
# ZeRO-2 with SIGTERM to rank 2, -np 2 with SIGUSR1 to rank 0. Exits 77 without mpirun or an MPI build.
. "$(dirname "$0")/mpi_lib.sh"
T=(--data-path synthetic --synthetic-size 96 --image-size 8 --model DiT-S/2 --depth 2 --hidden-size 32 --num-heads 2
   --patch-size 2 --global-batch-size 12 --log-every 1 --num-workers 0 --threads 1 --max-steps 400 --ckpt-every 1000)
mpi_probe T

ck() { ls -d "$TMP/$1"/*/checkpoints/"$(printf %07d "$2")" 2>/dev/null | head -n 1; }
# rank_pid DIR RANK: the pid of that rank of the job writing to DIR (from its environment)
rank_pid() {
    local p
    for p in $(pgrep -f "results-dir $1( |$)"); do
        tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2" && { echo "$p"; return; }
    done
}
rows() { local f; f=$(ls "$TMP/$1"/*/metrics.csv 2>/dev/null | head -n 1); [ -n "$f" ] && echo $(($(wc -l <"$f") - 1)) || echo 0; }

# case LABEL NP ZERO RANK SIGNAL
case_() {
    local label=$1 np=$2 z=$3 rank=$4 sig=$5 i pid rc
    [ -d "$TMP/straight-$np-$z" ] || timeout 300 "${MPI[@]}" "$np" "$DITC" train "${T[@]}" --zero "$z" \
        --results-dir "$TMP/straight-$np-$z" >"$TMP/straight-$np-$z.log" 2>&1 || echo "  (the uninterrupted run failed)"
    timeout 300 "${MPI[@]}" "$np" "$DITC" train "${T[@]}" --zero "$z" --results-dir "$TMP/$label" >"$TMP/$label.log" 2>&1 &
    local job=$!
    for ((i = 0; i < 1000 && $(rows "$label") < 20; i++)); do sleep 0.01; done
    pid=$(rank_pid "$TMP/$label" "$rank")
    [ -n "$pid" ] && kill -"$sig" "$pid"
    wait $job
    rc=$?
    local last c n
    last=$(tail -n 1 "$TMP/$label"/*/metrics.csv | cut -d, -f1)
    n=$(ls "$TMP/$label"/*/checkpoints | wc -l)
    c=$(ck "$label" "$last")
    [ "$rc" = 75 ] && [ "$n" = 1 ] && [ -n "$c" ] && [ "$last" -lt 400 ] && grep -q "\"step\": \"$last\"" "$c/state.json" &&
        grep -q "stopped by .* after step $last of 400" "$TMP/$label.log"
    check $? "$label: SIG$sig to rank $rank of $np (pid ${pid:-?}): job status $rc, one checkpoint at step $last ($(grep -o 'stopped by [^;]*' "$TMP/$label.log" | head -n 1))"
    timeout 300 "${MPI[@]}" "$np" "$DITC" train --results-dir "$TMP/$label" --resume latest >"$TMP/$label.resume.log" 2>&1
    check $? "$label: resumed at -np $np to step 400"
    local ok=0 f
    for f in model ema optimizer; do
        cmp -s "$(ck "straight-$np-$z" 400)/$f.safetensors" "$(ck "$label" 400)/$f.safetensors" || { ok=1; echo "  $f differs"; }
    done
    cmp -s <(cut -d, -f1-3,6,7 "$TMP/straight-$np-$z"/*/metrics.csv) <(cut -d, -f1-3,6,7 "$TMP/$label"/*/metrics.csv) || { ok=1; echo "  losses differ"; }
    check $ok "$label: = the uninterrupted -np $np run bit for bit (model, ema, optimizer, per-step losses)"
}
case_ np2-term-rank1 2 0 1 TERM
case_ np3-zero2-term-rank2 3 2 2 TERM
case_ np2-usr1-rank0 2 0 0 USR1
grep -q "stopped by SIGUSR1" "$TMP/np2-usr1-rank0.log" && grep -q "stopped by a stop signal to another rank" "$TMP/np2-term-rank1.log"
check $? "rank 0 names the signal it received, or says another rank's stopped the job"

awk -F, 'NR > 1 && $12 > 0 { n++ } END { exit !(n > 300) }' "$TMP/straight-3-2"/*/metrics.csv &&
    grep -q "Slowest Rank Step: [0-9.]* s" "$TMP/straight-3-2.log"
check $? "the slowest rank's step time in the log lines and metrics.csv ($(grep -o 'Slowest Rank Step: [0-9.]* s' "$TMP/straight-3-2.log" | tail -n 1))"

echo "test_cluster_mpi: $passes passed, $fails failed"
[ "$fails" = 0 ]
