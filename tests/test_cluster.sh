#!/usr/bin/env bash
# test_cluster.sh DITC SRC — a run that survives its cluster (docs/cluster.md), single process:
#  1. SIGTERM and SIGUSR1 mid-run: the step finishes, a checkpoint of that step is written, exit status 75;
#     `--resume latest` then ends equal to an uninterrupted run bit for bit (model, EMA, optimizer, losses).
#     The same for SIGPIPE from a real pipe whose reader exits (`ditc train | head -n 3`).
#  2. a flood of SIGTERMs (one every 10 ms, so some land during the checkpoint write): the same.
#  3. --keep-last 2 --keep-every 4 over 30 checkpoints keeps exactly 4, 8, ..., 28, 29, 30; 20 trials of kill -9
#     at random times, each resumed with `--resume auto` until done: every one ends bit-exact with the same
#     checkpoints kept.
#  4. a full disk (a file-size limit: write() fails with EFBIG) during a checkpoint: non-zero exit with one
#     message, the previous checkpoint complete and resumable bit-exactly.
#  5. the loss-spike guard: an injected NaN (DITC_TEST_INJECT_NAN) is skipped and logged — the weights, EMA
#     and optimizer state after that step equal those before it; M in a row stop the run; a 1000x spike with
#     --skip-update-zscore 4 is skipped, and resuming across it is bit-exact (guard statistics in state.json).
#  6. TensorBoard's own reader returns the scalars of metrics.csv (skipped with the rest passing if TensorBoard
#     is not installed).
#  7. --resume of a partial checkpoint directory: skipped with a warning by `latest`, refused by path.
source "$(dirname "$0")/test_lib.sh"

F=("${tiny_train_flags[@]}" --log-every 1 --num-workers 1 --threads 1)
ck() { printf '%s/checkpoints/%07d' "$1" "$2"; }
rundir() { dirname "$(dirname "$(ls -d "$1"/*/checkpoints/"$(printf %07d "$2")" | head -n 1)")"; }
# same_ckpt LABEL A B: model, ema and optimizer files of two checkpoint directories identical
same_ckpt() {
    local ok=0 f
    for f in model ema optimizer; do cmp -s "$2/$f.safetensors" "$3/$f.safetensors" || ok=1; done
    check $ok "$1"
}
# wait_rows RUN_PARENT N: until a metrics.csv under RUN_PARENT has N data rows (10 s at most)
wait_rows() {
    local i
    for ((i = 0; i < 1000; i++)); do
        local f
        f=$(ls "$1"/*/metrics.csv 2>/dev/null | head -n 1)
        [ -n "$f" ] && [ "$(($(wc -l <"$f") - 1))" -ge "$2" ] && return 0
        sleep 0.01
    done
    return 1
}
state_step() { grep -o '"step": *"[0-9]*"' "$1/state.json" | grep -o '[0-9][0-9]*'; }

echo "== reference: 60 steps uninterrupted (checkpoints every 10)"
run straight "$DITC" train "${F[@]}" --results-dir "$TMP/straight" --max-steps 60 --ckpt-every 10 ||
    { fail "the uninterrupted run"; show straight; finish; }
S=$(rundir "$TMP/straight" 60)

# ---- 1, 2. stop signals ---------------------------------------------------------------------------------
# stop_case LABEL SIGNAL FLOOD: signal a 60-step run after 12 steps, check status 75 and the stop checkpoint,
# resume to 60, compare with the straight run.
stop_case() {
    local label=$1 sig=$2 flood=$3 d=$TMP/$1 pid rc
    "$DITC" train "${F[@]}" --results-dir "$d" --max-steps 60 --ckpt-every 10 >"$TMP/$label.out" 2>"$TMP/$label.err" &
    pid=$!
    wait_rows "$d" 12 || fail "$label: the run did not get going"
    if [ "$flood" = 1 ]; then
        while kill -0 $pid 2>/dev/null; do kill -"$sig" $pid 2>/dev/null; sleep 0.01; done
    else
        kill -"$sig" $pid
    fi
    wait $pid
    rc=$?
    local last c
    c=$(ls -d "$d"/*/checkpoints/0* | tail -n 1)
    last=$(tail -n 1 "$d"/*/metrics.csv | cut -d, -f1)
    [ "$rc" = 75 ] && grep -q "stopped by SIG$sig after step $last of 60" "$TMP/$label.out"
    check $? "$label: SIG$sig: exit status $rc (75) after step $last ('$(grep -o 'stopped by.*' "$TMP/$label.out" | cut -c1-60)...')"
    [ "$(state_step "$c")" = "$last" ] && [ "$last" -lt 60 ] && [ "$last" -ge 12 ] &&
        [ -z "$(ls -d "$d"/*/checkpoints/*.tmp.* 2>/dev/null)" ] && ditc_complete "$c"
    check $? "$label: a complete checkpoint of the stop step ($(basename "$c")), no temporary left"
    run "$label.resume" "$DITC" train --results-dir "$d" --resume latest --max-steps 60 --plot ||
        { fail "$label: resume"; show "$label.resume"; return; }
    same_ckpt "$label: resumed to step 60 = uninterrupted (model, ema, optimizer bit for bit)" "$(ck "$S" 60)" \
        "$(ck "$(rundir "$d" 60)" 60)"
    cmp -s <(cut -d, -f1-3,6,7 "$S/metrics.csv") <(cut -d, -f1-3,6,7 "$(rundir "$d" 60)/metrics.csv")
    check $? "$label: per-step losses, lr, grad norms 1..60 identical"
}
# ditc_complete DIR: every tensor of the checkpoint's files readable (ditc inspect parses them strictly)
ditc_complete() {
    local f
    [ -s "$1/state.json" ] || return 1
    for f in model ema optimizer; do "$DITC" inspect "$1/$f.safetensors" >/dev/null 2>&1 || return 1; done
}
echo "== 1. one signal"
stop_case term TERM 0
stop_case usr1 USR1 0
# SIGPIPE from a real reader that goes away (`ditc train … | head -n 3`): stopped with a checkpoint, not killed;
# the stop message in log.txt (stdout is gone); resuming ends equal to the uninterrupted run.
d=$TMP/pipe
"$DITC" train "${F[@]}" --results-dir "$d" --max-steps 60 --ckpt-every 10 2>"$TMP/pipe.err" | head -n 3 >/dev/null
rc=${PIPESTATUS[0]}
c=$(ls -d "$d"/*/checkpoints/0* 2>/dev/null | tail -n 1)
last=$(tail -n 1 "$d"/*/metrics.csv | cut -d, -f1)
[ "$rc" = 75 ] && grep -q "stopped by SIGPIPE after step $last of 60" "$d"/*/log.txt && [ -n "$c" ] &&
    [ "$(state_step "$c")" = "$last" ] && [ "$last" -lt 60 ] && ditc_complete "$c"
check $? "pipe: ditc train | head -n 3: exit status $rc (75), stopped by SIGPIPE after step $last with its checkpoint"
if run pipe.resume "$DITC" train --results-dir "$d" --resume latest --max-steps 60; then
    same_ckpt "pipe: resumed to step 60 = uninterrupted (model, ema, optimizer bit for bit)" "$(ck "$S" 60)" \
        "$(ck "$(rundir "$d" 60)" 60)"
else
    fail "pipe: resume"
    show pipe.resume
fi
# --plot on the resumed run: loss.png (800x480) with the curve over both parts (steps 1..60 of metrics.csv)
if "$PY" -c 'import PIL' 2>/dev/null; then
    "$PY" - "$(rundir "$TMP/term" 60)/loss.png" <<'PYEOF'
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert('RGB')
assert im.size == (800, 480), im.size
px = im.load()
cols = sorted({x for x in range(im.size[0]) for y in range(40, 432) if px[x, y] == (31, 119, 180)})
# the plot area spans x 78..776 for steps 0..60: the curve must start near step 1 and end at step 60
assert cols and cols[0] < 100 and cols[-1] > 760, (cols[:3], cols[-3:])
print(f'  loss.png: curve from x={cols[0]} to x={cols[-1]}')
PYEOF
    check $? "--plot: loss.png drawn over the whole run, resumed part included ('$(grep -o 'loss curve: .*' "$TMP/term.resume.out" | head -c 60)...')"
fi
echo "== 2. a signal every 10 ms until the process is gone (signals during the checkpoint write)"
stop_case flood TERM 1

# ---- 3. rotation, and kill -9 at random points -------------------------------------------------------------
echo "== 3. --keep-last 2 --keep-every 4, checkpoint every step"
K=(--max-steps 30 --ckpt-every 1 --keep-last 2 --keep-every 4)
KEPT="0000004 0000008 0000012 0000016 0000020 0000024 0000028 0000029 0000030 "
run keep "$DITC" train "${F[@]}" --results-dir "$TMP/keep" "${K[@]}" || { fail "keep run"; show keep; }
kept() { ls "$1"/*/checkpoints | tr '\n' ' '; }
[ "$(kept "$TMP/keep")" = "$KEPT" ]
check $? "keep-last 2, keep-every 4 over 30 checkpoints: $(kept "$TMP/keep")"
grep -q "removed checkpoint .*0000027 (--keep-last)" "$TMP/keep.out"
check $? "each removal is logged"
ok=0
kills=0
RANDOM=7
for ((trial = 1; trial <= 20; trial++)); do
    d=$TMP/kill$trial
    # up to 8 kills at random times (20-320 ms after the start), then a run left to finish (a loaded machine
    # may not get far between kills)
    for ((attempt = 0; attempt <= 8; attempt++)); do
        "$DITC" train "${F[@]}" --results-dir "$d" "${K[@]}" --resume auto >>"$TMP/kill.out" 2>&1 &
        pid=$!
        if [ $attempt -lt 8 ]; then
            sleep "0.$(printf %03d $((RANDOM % 300 + 20)))"
            kill -9 $pid 2>/dev/null
        fi
        wait $pid 2>/dev/null
        [ -n "$(ls -d "$d"/*/checkpoints/0000030 2>/dev/null)" ] && break
    done
    r=$(rundir "$d" 30 2>/dev/null)
    if [ -z "$r" ]; then
        ok=1
        echo "  trial $trial: never reached step 30"
        continue
    fi
    for f in model ema optimizer; do
        cmp -s "$(ck "$(rundir "$TMP/keep" 30)" 30)/$f.safetensors" "$(ck "$r" 30)/$f.safetensors" ||
            { ok=1; echo "  trial $trial: $f differs"; }
    done
    # a kill during the last rotation may leave an old checkpoint: the next start (a requeue) completes it
    [ "$(ls -A "$r"/checkpoints | tr '\n' ' ')" = "$KEPT" ] ||
        "$DITC" train --results-dir "$d" --resume latest >/dev/null 2>&1
    [ "$(ls -A "$r"/checkpoints | tr '\n' ' ')" = "$KEPT" ] ||
        { ok=1; echo "  trial $trial: kept $(ls -A "$r"/checkpoints | tr '\n' ' ')"; }
    kills=$((kills + attempt))
    echo "  trial $trial: $attempt kill(s) before the run reached step 30 ($(ls -d "$d"/* | wc -l) run directories)"
done
check $ok "20 trials of kill -9 at random times ($kills kills) + --resume auto: every final checkpoint bit-exact, the same kept"

# ---- 4. a full disk ---------------------------------------------------------------------------------------
echo "== 4. a write that fails (file-size limit: EFBIG) during the checkpoint of step 20"
d=$TMP/full
run full0 "$DITC" train "${F[@]}" --results-dir "$d" --max-steps 10 --ckpt-every 10 || { fail "full0"; show full0; }
size=$(wc -c <"$(ck "$(rundir "$d" 10)" 10)/model.safetensors")
# the limit (KiB) is below a model file and above every log line written
(
    trap '' XFSZ
    ulimit -f $((size / 2048))
    exec "$DITC" train --results-dir "$d" --resume latest --max-steps 20 --ckpt-every 10
) >"$TMP/full1.out" 2>"$TMP/full1.err"
rc=$?
grep -q "the checkpoint of step 20 was not written: .*File too large.*the last complete one is .*0000010" "$TMP/full1.err"
[ $rc != 0 ] && [ $? = 0 ]
check $? "full disk: exit $rc, '$(grep -o 'the checkpoint of step 20.*' "$TMP/full1.err" | cut -c1-100)...'"
[ -z "$(ls -d "$d"/*/checkpoints/0000020* "$d"/*/checkpoints/*.tmp.* 2>/dev/null)" ] && ditc_complete "$(ck "$(rundir "$d" 10)" 10)"
check $? "full disk: no step-20 checkpoint or temporary left, step 10's complete"
run full2 "$DITC" train --results-dir "$d" --resume latest --max-steps 20 --ckpt-every 10 ||
    { fail "full2"; show full2; }
run full3 "$DITC" train "${F[@]}" --results-dir "$TMP/full20" --max-steps 20 --ckpt-every 10 || fail "full3"
same_ckpt "full disk: resumed from step 10 once there is room: step 20 = uninterrupted" \
    "$(ck "$(rundir "$TMP/full20" 20)" 20)" "$(ck "$(rundir "$d" 20)" 20)"
if [ "$(id -u)" = 0 ] && mkdir -p "$TMP/tmpfs" && mount -t tmpfs -o size=$((size * 5 / 2 / 1024))k tmpfs "$TMP/tmpfs" 2>/dev/null; then
    # a real ENOSPC: room for about 2.5 model files (a checkpoint holds 3 + optimizer)
    run tmpfs "$DITC" train "${F[@]}" --results-dir "$TMP/tmpfs/r" --max-steps 20 --ckpt-every 10
    rc=$?
    grep -q "No space left on device" "$TMP/tmpfs.err" && [ $rc != 0 ] && [ -z "$(ls -d "$TMP"/tmpfs/r/*/checkpoints/*.tmp.* 2>/dev/null)" ]
    check $? "tmpfs of $((size * 5 / 2 / 1024)) KiB: ENOSPC reported, exit $rc, no temporary left"
    umount "$TMP/tmpfs"
else
    echo "(no tmpfs mount possible here: the ENOSPC variant is skipped; the EFBIG one above ran)"
fi

# ---- 5. the loss-spike guard ------------------------------------------------------------------------------
echo "== 5. non-finite losses and spikes"
d=$TMP/nan
DITC_TEST_INJECT_NAN=5 run nan "$DITC" train "${F[@]}" --results-dir "$d" --max-steps 8 --ckpt-every 1 ||
    { fail "nan run"; show nan; }
r=$(rundir "$d" 8)
grep -q "step 5: update skipped (loss nan, gradient norm nan: not finite); 1 in a row, 1 in all" "$TMP/nan.out"
check $? "an injected NaN at step 5 is skipped and logged"
same_ckpt "after the skipped step 5: model, EMA and optimizer state equal those of step 4" "$(ck "$r" 4)" "$(ck "$r" 5)"
[ "$(sed -n 6p "$r/metrics.csv" | cut -d, -f11)" = 1 ] && [ "$(sed -n 9p "$r/metrics.csv" | cut -d, -f11)" = 1 ] &&
    ! cmp -s "$(ck "$r" 5)/model.safetensors" "$(ck "$r" 6)/model.safetensors"
check $? "metrics.csv counts the skip (skipped_updates 1 from step 5); step 6 updates again"
DITC_TEST_INJECT_NAN=3,4,5 run nan3 "$DITC" train "${F[@]}" --results-dir "$TMP/nan3" --max-steps 8 --ckpt-every 2 \
    --skip-update-max 3
rc=$?
grep -q "step 5: 3 updates in a row were skipped (--skip-update-max 3); stopping" "$TMP/nan3.err" && [ $rc = 1 ] &&
    [ "$(ls "$TMP"/nan3/*/checkpoints | tr '\n' ' ')" = "0000002 0000004 " ]
check $? "3 NaNs in a row with --skip-update-max 3: the run stops at step 5 (exit $rc), checkpoints 2 and 4 only"
r=$(rundir "$TMP/nan3" 4)
same_ckpt "the checkpoint after the skipped steps 3, 4 holds step 2's weights (no NaN reached it)" "$(ck "$r" 2)" \
    "$(ck "$r" 4)"
Z=(--skip-update-zscore 4 --ckpt-every 10)
DITC_TEST_INJECT_SPIKE=45 run spike "$DITC" train "${F[@]}" --results-dir "$TMP/spike" --max-steps 60 "${Z[@]}" ||
    { fail "spike run"; show spike; }
grep -q "step 45: update skipped (loss .* (z .*), gradient norm .* (z .*): above --skip-update-zscore 4); 1 in a row" \
    "$TMP/spike.out" && [ "$(grep -c 'update skipped' "$TMP/spike.out")" = 1 ]
check $? "a 1000x spike at step 45 with --skip-update-zscore 4: that update alone skipped"
DITC_TEST_INJECT_SPIKE=45 run spike1 "$DITC" train "${F[@]}" --results-dir "$TMP/spike2" --max-steps 40 "${Z[@]}" &&
    DITC_TEST_INJECT_SPIKE=45 run spike2 "$DITC" train --results-dir "$TMP/spike2" --resume latest --max-steps 60 ||
    { fail "spike resume"; show spike2; }
a=$(ck "$(rundir "$TMP/spike" 60)" 60)
b=$(ck "$(rundir "$TMP/spike2" 60)" 60)
same_ckpt "spike: 40 steps + resume + 20 = 60 straight (bit for bit)" "$a" "$b"
cmp -s <(grep -o '"guard[^,]*,' "$a/state.json") <(grep -o '"guard[^,]*,' "$b/state.json")
check $? "spike: the guard's statistics in state.json identical ($(grep -o '"guard.n": *"[0-9]*"' "$b/state.json"), $(grep -o '"guard.skipped": *"[0-9]*"' "$b/state.json"))"

# ---- 6. TensorBoard -----------------------------------------------------------------------------------------
echo "== 6. TensorBoard events = metrics.csv"
"$PY" "$REF/read_tfevents.py" "$S" >"$TMP/tb.csv" 2>"$TMP/tb.err"
rc=$?
if [ $rc = 77 ]; then
    echo "(TensorBoard is not installed for $PY: the reader check is skipped)"
else
    "$PY" - "$TMP/tb.csv" "$S/metrics.csv" <<'PYEOF'
import csv, sys
tb = {}
for tag, step, value in csv.reader(open(sys.argv[1])):
    tb[(tag, int(step))] = float(value)
cols = {'train/loss': 'loss', 'train/lr': 'lr', 'train/grad_norm': 'grad_norm', 'perf/images_per_sec': 'images_per_sec',
        'perf/data_wait_pct': 'data_wait_pct', 'train/skipped_updates': 'skipped_updates'}
rows = list(csv.DictReader(open(sys.argv[2])))
bad = 0
for row in rows:
    for tag, col in cols.items():
        want, got = float(row[col]), tb.get((tag, int(row['step'])))
        # metrics.csv prints 4 to 9 digits, the event holds the float32
        if got is None or abs(got - want) > 5e-4 * abs(want) + 5e-3 * (col in ('images_per_sec', 'data_wait_pct')):
            bad += 1
            print(f'  {tag} step {row["step"]}: events {got}, metrics.csv {want}')
print(f'  {len(rows)} steps x {len(cols)} tags compared ({len(tb)} scalars in the events)')
sys.exit(1 if bad or len(rows) != 60 else 0)
PYEOF
    check $? "TensorBoard's reader returns the scalars of metrics.csv"
fi

# ---- the progress line on a terminal -----------------------------------------------------------------------
if command -v script >/dev/null; then
    script -qec "$DITC train ${F[*]} --results-dir $TMP/tty --max-steps 30 --ckpt-every 10" "$TMP/tty.typescript" >/dev/null 2>&1
    tr '\r' '\n' <"$TMP/tty.typescript" | sed 's/\x1b\[K//g' | grep -a '^\[step 2[0-9]/30\] loss [0-9.]* | [0-9.]* img/s | 00:00:0[0-9] elapsed | ETA 00:00:0[0-9] | ckpt 00:00:0[0-9] ago' >/dev/null
    check $? "progress line on a terminal: '$(tr '\r' '\n' <"$TMP/tty.typescript" | sed 's/\x1b\[K//g' | grep -a '^\[step 25/30\]' | tail -n 1)'"
fi

# ---- --sample-every: EMA grids during training = `ditc sample` of the checkpoint's EMA ------------------------
make_idx "$TMP/idx" 64 8 10
run se "$DITC" train --model DiT-S/2 --depth 1 --hidden-size 32 --num-heads 2 --data-path "$TMP/idx" --global-batch-size 8 \
    --num-workers 1 --threads 1 --global-seed 5 --max-steps 10 --ckpt-every 10 --sample-every 5 --sample-steps 5 \
    --results-dir "$TMP/se" || { fail "--sample-every run"; show se; }
r=$(rundir "$TMP/se" 10)
run se.ref "$DITC" sample --ckpt "$(ck "$r" 10)" --per-class 4 --sampler ddim --num-sampling-steps 5 --cfg-scale 4 \
    --seed 5 --threads 1 --out "$TMP/se.png"
[ -f "$r/samples/0000005.png" ] && cmp -s "$r/samples/0000010.png" "$TMP/se.png"
check $? "--sample-every 5: grids at steps 5 and 10; step 10's = \`ditc sample\` of checkpoint 10's EMA byte for byte"

# ---- 7. partial checkpoints ----------------------------------------------------------------------------------
echo "== 7. a partial checkpoint directory"
cp -r "$TMP/straight" "$TMP/partial"
p=$(ck "$(rundir "$TMP/partial" 60)" 60)
head -c 1000 "$(ck "$S" 60)/model.safetensors" >"$p/model.safetensors"
run partial2 "$DITC" train --results-dir "$TMP/partial" --resume "$p" --max-steps 60
[ $? != 0 ] && grep -q "not a complete checkpoint" "$TMP/partial2.err"
check $? "--resume of the truncated directory itself: '$(head -c 120 "$TMP/partial2.err")'"
run partial "$DITC" train --results-dir "$TMP/partial" --resume latest --max-steps 60
grep -q "warning: skipping partial checkpoint .*0000060" "$TMP/partial.err" &&
    grep -q "resumed from .*0000050 at step 50" "$TMP/partial.out"
check $? "--resume latest skips the truncated step-60 checkpoint with a warning and resumes from step 50"
same_ckpt "... and rewrites step 60 equal to the uninterrupted run" "$(ck "$S" 60)" "$p"

finish
