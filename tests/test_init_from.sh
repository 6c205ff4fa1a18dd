#!/usr/bin/env bash
# test_init_from.sh DITC SRC — `ditc train --init-from FILE`: a fresh run (step 0, zero AdamW moments) from
# pretrained weights. A tiny ditc run's checkpoint is the "pretrained" model; PyTorch (tests/reference/
# train_pt_reference.py to-pt) re-saves it as a bare state_dict .pt and as a {"model", "ema"} dict .pt.
# --max-steps 0 writes the step-0 checkpoint, whose model and EMA must equal the chosen weights bit for bit
# (with another --global-seed than the source run, so a fresh initialisation cannot pass): safetensors, bare .pt,
# dict .pt (default: its ema), --init-select model, --init-ema (model from `model`, EMA from `ema`), the dict .pt
# re-saved in PyTorch's legacy (pre-1.6, non-zip) format, a ditc checkpoint directory. Then: training runs from it and resumes bit-exactly; 20 classes against the file's 10 is
# one message naming y_embedder and --init-skip; --init-skip y_embedder loads the rest and keeps the seed's
# y_embedder; a deeper model is one message; --init-* without --init-from is refused.
source "$(dirname "$0")/test_lib.sh"
need_torch
"$PY" -c 'import safetensors' 2>/dev/null || { echo "SKIP $TEST_NAME: no safetensors for $PY"; exit 77; }

tiny=("${tiny_train_flags[@]}" --num-workers 0 --no-tensorboard)

# same_tensors LABEL A B [SKIP_PREFIX]: every tensor of the safetensors A equals B's bit for bit (except SKIP's)
same_tensors() {
    "$PY" - "$2" "$3" "${4:-}" <<'EOF'
import sys
from safetensors.numpy import load_file
a, b, skip = load_file(sys.argv[1]), load_file(sys.argv[2]), sys.argv[3]
names = [k for k in a if not (skip and k.startswith(skip))]
bad = [k for k in names if k not in b or not (a[k] == b[k]).all()]
extra = [k for k in b if k not in a]
print(f'{len(names)} tensors compared, {len(bad)} differ {bad[:3]}, {len(extra)} extra {extra[:3]}')
sys.exit(1 if bad or extra or not names else 0)
EOF
}
# zero_moments CKPT_DIR: optimizer.safetensors all zero, step 0
zero_moments() {
    "$PY" - "$1/optimizer.safetensors" <<'EOF'
import sys
from safetensors import safe_open
with safe_open(sys.argv[1], 'np') as f:
    ok = f.metadata().get('step') == '0' and all(not f.get_tensor(k).any() for k in f.keys())
sys.exit(0 if ok else 1)
EOF
}

if ! run src "$DITC" train "${tiny[@]}" --results-dir "$TMP/src" --max-steps 3; then
    fail "the source run"
    show src
    finish
fi
CK=$(echo "$TMP"/src/000-*/checkpoints/0000003)
"$PY" "$REF/train_pt_reference.py" to-pt "$CK/ema.safetensors" "$TMP/bare.pt" &&
    "$PY" "$REF/train_pt_reference.py" to-pt "$CK/model.safetensors" --ema "$CK/ema.safetensors" "$TMP/dict.pt"
check $? "PyTorch wrote bare.pt (a state_dict) and dict.pt ({model, ema})"
same_tensors x "$CK/model.safetensors" "$CK/ema.safetensors" >/dev/null
[ $? -ne 0 ]
check $? "the source's model and EMA differ (so the cases below tell them apart)"

# init_case LABEL MODEL_SRC EMA_SRC INIT FLAGS...: the step-0 checkpoint holds MODEL_SRC and EMA_SRC's weights
NCASE=0
init_case() {
    local label=$1 msrc=$2 esrc=$3 i=$((++NCASE))
    shift 3
    if ! run "i$i" "$DITC" train "${tiny[@]}" --global-seed 7 --results-dir "$TMP/i$i" --max-steps 0 "$@"; then
        fail "$label: ditc train exited non-zero"
        show "i$i"
        return
    fi
    local c
    c=$(echo "$TMP/i$i"/000-*/checkpoints/0000000)
    local m e
    m=$(same_tensors x "$msrc" "$c/model.safetensors") && e=$(same_tensors x "$esrc" "$c/ema.safetensors") &&
        zero_moments "$c"
    check $? "$label: step-0 model = $(basename "$msrc"), EMA = $(basename "$esrc"), zero moments, step 0 ($m)"
}
init_case "--init-from model.safetensors" "$CK/ema.safetensors" "$CK/ema.safetensors" --init-from "$CK/ema.safetensors"
init_case "--init-from bare.pt (a state_dict)" "$CK/ema.safetensors" "$CK/ema.safetensors" --init-from "$TMP/bare.pt"
init_case "--init-from dict.pt (default: its ema)" "$CK/ema.safetensors" "$CK/ema.safetensors" --init-from "$TMP/dict.pt"
init_case "--init-from dict.pt --init-select model" "$CK/model.safetensors" "$CK/model.safetensors" \
    --init-from "$TMP/dict.pt" --init-select model
init_case "--init-from dict.pt --init-ema (model from model, EMA from ema)" "$CK/model.safetensors" \
    "$CK/ema.safetensors" --init-from "$TMP/dict.pt" --init-ema
init_case "--init-from bare.pt --init-ema (a bare file: its weights for both)" "$CK/ema.safetensors" \
    "$CK/ema.safetensors" --init-from "$TMP/bare.pt" --init-ema
"$PY" -c "import torch; torch.save(torch.load('$TMP/dict.pt'), '$TMP/dict.legacy.pt', _use_new_zipfile_serialization=False)"
init_case "--init-from dict.legacy.pt (PyTorch's legacy format) --init-ema" "$CK/model.safetensors" \
    "$CK/ema.safetensors" --init-from "$TMP/dict.legacy.pt" --init-ema
init_case "--init-from CHECKPOINT_DIR --init-ema" "$CK/model.safetensors" "$CK/ema.safetensors" --init-from "$CK" \
    --init-ema

# training from it, and resuming such a run: 3 steps straight = 2 + --resume + 1
if run t3 "$DITC" train "${tiny[@]}" --results-dir "$TMP/t3" --max-steps 3 --init-from "$TMP/dict.pt" &&
    run t2 "$DITC" train "${tiny[@]}" --results-dir "$TMP/t2" --max-steps 2 --init-from "$TMP/dict.pt" &&
    run t2r "$DITC" train --resume "$(echo "$TMP"/t2/000-*)" --max-steps 3; then
    a=$(echo "$TMP"/t3/000-*/checkpoints/0000003) b=$(echo "$TMP"/t2/000-*/checkpoints/0000003) ok=0
    for f in model ema optimizer; do cmp -s "$a/$f.safetensors" "$b/$f.safetensors" || ok=1; done
    grep -q '"step": *"3"' "$b/state.json" || ok=1
    check $ok "training from --init-from runs; 2 steps + --resume + 1 = 3 straight (the resume does not re-load the file)"
else
    fail "training from --init-from"
    show t3
    show t2
    show t2r
fi

# a class-count mismatch: one message; --init-skip y_embedder then works
k20=(--model DiT-S/4 --depth 2 --hidden-size 64 --num-heads 4 --data-path synthetic --synthetic-size 64
     --image-size 16 --num-classes 20 --global-batch-size 8 --num-workers 0 --no-tensorboard)
run m1 "$DITC" train "${k20[@]}" --max-steps 0 --results-dir "$TMP/m1" --init-from "$TMP/bare.pt"
rc=$?
[ $rc -ne 0 ] && [ $rc -lt 128 ] && [ "$(wc -l <"$TMP/m1.err")" -eq 1 ] && grep -q "y_embedder" "$TMP/m1.err" &&
    grep -q -- "--init-skip y_embedder" "$TMP/m1.err" && grep -q "10 classes" "$TMP/m1.err"
check $? "20 classes against the file's 10: one message: $(cat "$TMP/m1.err")"
if run m2 "$DITC" train "${k20[@]}" --max-steps 0 --results-dir "$TMP/m2" --init-from "$TMP/bare.pt" \
    --init-skip y_embedder && run m3 "$DITC" train "${k20[@]}" --max-steps 0 --results-dir "$TMP/m3"; then
    c2=$(echo "$TMP"/m2/000-*/checkpoints/0000000) c3=$(echo "$TMP"/m3/000-*/checkpoints/0000000)
    same_tensors x "$CK/ema.safetensors" "$c2/model.safetensors" y_embedder >/dev/null
    check $? "--init-skip y_embedder: every other tensor from the file"
    "$PY" -c "
import sys
from safetensors.numpy import load_file
k = 'y_embedder.embedding_table.weight'
sys.exit(0 if (load_file('$c2/model.safetensors')[k] == load_file('$c3/model.safetensors')[k]).all() else 1)"
    check $? "--init-skip y_embedder: y_embedder keeps the seed's fresh initialisation (= a run without --init-from)"
    run m4 "$DITC" train "${k20[@]}" --max-steps 2 --results-dir "$TMP/m4" \
        --init-from "$TMP/bare.pt" --init-skip y_embedder
    check $? "--init-skip y_embedder: training on the 20-class data runs"
else
    fail "--init-skip y_embedder"
    show m2
    show m3
fi
run d3 "$DITC" train "${tiny[@]}" --depth 3 --results-dir "$TMP/d3" --max-steps 0 --init-from "$CK/ema.safetensors"
[ $? -ne 0 ] && [ "$(wc -l <"$TMP/d3.err")" -eq 1 ] && grep -q 'blocks.2' "$TMP/d3.err" && grep -q "depth 2" "$TMP/d3.err"
check $? "a deeper model: one message naming the missing tensor and the file's depth: $(head -c 250 "$TMP/d3.err")"
run s1 "$DITC" train "${tiny[@]}" --results-dir "$TMP/s1" --max-steps 0 --init-skip y_embedder
[ $? -ne 0 ] && grep -q -- "--init-from" "$TMP/s1.err"
check $? "--init-skip without --init-from is refused"
run s2 "$DITC" train "${tiny[@]}" --results-dir "$TMP/s2" --max-steps 0 --init-from "$TMP/nothing.pt"
[ $? -ne 0 ] && [ "$(wc -l <"$TMP/s2.err")" -eq 1 ] && grep -q "nothing.pt" "$TMP/s2.err"
check $? "--init-from a missing file: one message naming it"
# a failed start leaves no run directory behind (the next run would otherwise be numbered past an empty one)
[ -z "$(ls -A "$TMP/d3" "$TMP/s2" 2>/dev/null | grep -v ':$' | grep -v '^$')" ]
check $? "the failed --init-from runs left no run directory: $(ls "$TMP/d3" "$TMP/s2" 2>&1 | tr '\n' ' ')"
finish
