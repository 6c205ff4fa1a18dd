#!/usr/bin/env bash
# test_resume_pt.sh DITC SRC — `ditc train --resume FILE.pt` continues a run of the reference train.py.
# tests/reference/train_pt_reference.py make-ckpt trains a tiny DiT (dit_reference.py) 3 steps exactly as
# facebookresearch/DiT train.py does (AdamW over model.parameters() with pos_embed never getting state, update_ema
# 0.9999) and saves {"model", "ema", "opt", "args"} like it. ditc continues it 5 steps (the arguments from `args`:
# model, classes, global batch, seed), dumping each step's x, t, y and noise (DITC_TEST_DUMP_BATCH); the reference
# loop takes the same 5 steps on those batches from the same file. Model, EMA (relative ≤ 1e-5), AdamW moments
# (≤ 1e-4, the gradient tolerance of test_parity), the per-step losses (≤ 1e-5) and the step (8) must agree.
# The same checkpoint re-saved in PyTorch's legacy (pre-1.6, non-zip) format continues bit-identically.
# Then: a differing --lr is warned about, the new run resumes as a ditc run, and a bare state_dict, a
# non-torch file and --optimizer sophiag are each refused with one message.
source "$(dirname "$0")/test_lib.sh"
need_torch
"$PY" -c 'import safetensors' 2>/dev/null || { echo "SKIP $TEST_NAME: no safetensors for $PY"; exit 77; }

mkdir -p "$TMP/ref/checkpoints" "$TMP/batches"
PT=$TMP/ref/checkpoints/0000003.pt
if ! run make "$PY" "$REF/train_pt_reference.py" make-ckpt "$PT" --steps 3; then
    fail "the reference train.py-shaped checkpoint"
    show make
    finish
fi
# the tiny model's shape is not in train.py's args (only --model): given as overrides
shape=(--depth 2 --hidden-size 64 --num-heads 4 --data-path synthetic --synthetic-size 64 --image-size 16
       --num-workers 0 --no-tensorboard --log-every 1)
if ! DITC_TEST_DUMP_BATCH=$TMP/batches run ditc "$DITC" train --resume "$PT" "${shape[@]}" --max-steps 8 \
    --results-dir "$TMP/r"; then
    fail "ditc train --resume FILE.pt"
    show ditc
    finish
fi
RUN=$(echo "$TMP"/r/000-*)
CK=$RUN/checkpoints/0000008
[ -f "$CK/model.safetensors" ] && grep -q '"step": *"8"' "$CK/state.json" && [ "$(ls "$TMP/batches" | wc -l)" -eq 5 ]
check $? "5 steps after the file's 3 in a new run directory ($(basename "$RUN")), 5 dumped batches"
grep -q "at step 3" "$TMP/ditc.out" && grep -q "data position restarts" "$TMP/ditc.out" &&
    grep -q "AdamW state of 31 of 32 parameters" "$TMP/ditc.out"
check $? "the log says: step 3 continued, AdamW state of 31 of 32 parameters (pos_embed has none), data position restarted"
grep -q "global batch 8" "$TMP/ditc.out" && grep -q "10 classes" "$TMP/ditc.out" && grep -q "patch 4" "$TMP/ditc.out"
check $? "the run's arguments from the file's args (DiT-S/4: patch 4, 10 classes, global batch 8)"

run cont "$PY" "$REF/train_pt_reference.py" continue "$PT" "$TMP/batches" "$TMP/ref.safetensors"
check $? "the reference loop continues the file on ditc's batches" || show cont
run cmp "$PY" "$REF/train_pt_reference.py" compare "$CK" "$TMP/ref.safetensors" 1e-5
check $? "model, EMA ≤ 1e-5 and AdamW moments ≤ 1e-4 relative to the reference's: $(cat "$TMP/cmp.out")"
"$PY" - "$RUN/metrics.csv" "$TMP/ref.safetensors" "$CK/optimizer.safetensors" >"$TMP/loss.out" <<'EOF'
import csv, sys
from safetensors.numpy import load_file
from safetensors import safe_open
rows = [r for r in csv.DictReader(open(sys.argv[1]))]
ref = load_file(sys.argv[2])
ours = [float(r['loss']) for r in rows]
theirs = ref['loss_steps'].tolist()
worst = max(abs(a - b) / abs(b) for a, b in zip(ours, theirs)) if len(ours) == len(theirs) else 1
with safe_open(sys.argv[3], 'np') as f:
    step = f.metadata().get('step')
print(f'steps {[r["step"] for r in rows]}, worst loss relative {worst:.3g}, optimizer step {step}, reference {ref["step"].tolist()}')
sys.exit(0 if worst <= 1e-5 and step == '8' and ref['step'].tolist() == [8.0] else 1)
EOF
check $? "per-step losses ≤ 1e-5 relative to the reference's, AdamW step 8 on both sides: $(cat "$TMP/loss.out")"

# the same file in PyTorch's legacy (pre-1.6, non-zip) format: the same 5 steps, bit for bit
"$PY" -c "import torch; torch.save(torch.load('$PT'), '$TMP/legacy.pt', _use_new_zipfile_serialization=False)"
if run legacy "$DITC" train --resume "$TMP/legacy.pt" "${shape[@]}" --max-steps 8 --results-dir "$TMP/rl"; then
    CL=$(echo "$TMP"/rl/000-*/checkpoints/0000008) ok=0
    for f in model ema optimizer; do cmp -s "$CK/$f.safetensors" "$CL/$f.safetensors" || ok=1; done
    check $ok "--resume of the checkpoint re-saved in the legacy format: model, EMA and optimizer at step 8 identical"
else
    fail "ditc train --resume LEGACY.pt"
    show legacy
fi

# a differing --lr: warned, ditc's used
run lr "$DITC" train --resume "$PT" "${shape[@]}" --max-steps 4 --results-dir "$TMP/lr" --lr 2e-4
[ $? -eq 0 ] && grep -q "warning: .*lr = 0.0001; continuing with --lr 0.0002" "$TMP/lr.out"
check $? "--lr 2e-4 against the file's 1e-4: a warning, then it runs: $(grep warning "$TMP/lr.out" | head -c 200)"
# the new run is a ditc run: --resume of it continues (its saved --resume FILE.pt is not re-applied)
run again "$DITC" train --resume "$RUN" --max-steps 9
[ $? -eq 0 ] && grep -q '"step": *"9"' "$RUN/checkpoints/0000009/state.json" && ! grep -q "train.py checkpoint" "$TMP/again.out"
check $? "--resume of the new run directory continues it as a ditc run (step 9)" || show again

# refusals, one message each
"$PY" -c "import torch; torch.save(torch.load('$PT')['ema'], '$TMP/bare.pt')"
run bare "$DITC" train --resume "$TMP/bare.pt" "${shape[@]}" --max-steps 4 --results-dir "$TMP/bad"
[ $? -ne 0 ] && [ "$(wc -l <"$TMP/bare.err")" -eq 1 ] && grep -q -- "--init-from" "$TMP/bare.err"
check $? "--resume of a bare state_dict: one message pointing to --init-from: $(head -c 200 "$TMP/bare.err")"
echo "not a checkpoint" >"$TMP/junk.pt"
run junk "$DITC" train --resume "$TMP/junk.pt" "${shape[@]}" --max-steps 4 --results-dir "$TMP/bad"
[ $? -ne 0 ] && [ "$(wc -l <"$TMP/junk.err")" -eq 1 ] && grep -q "junk.pt" "$TMP/junk.err"
check $? "--resume of a file that is no torch.save archive: one message: $(head -c 200 "$TMP/junk.err")"
run sophia "$DITC" train --resume "$PT" "${shape[@]}" --max-steps 4 --results-dir "$TMP/bad2" --optimizer sophiag
[ $? -ne 0 ] && grep -q "AdamW" "$TMP/sophia.err"
check $? "--resume FILE.pt --optimizer sophiag is refused: $(head -c 200 "$TMP/sophia.err")"
run both "$DITC" train --resume "$PT" "${shape[@]}" --max-steps 4 --results-dir "$TMP/bad2" --init-from "$PT"
[ $? -ne 0 ] && grep -q "choose one" "$TMP/both.err"
check $? "--resume FILE.pt with --init-from is refused"
finish
