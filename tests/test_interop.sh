#!/usr/bin/env bash
# test_interop.sh DITC SRC — checkpoints move between ditc and the PyTorch reference in both directions.
#  (c) `ditc inspect` lists a ditc checkpoint's tensors (reference names, shapes) and metadata;
#  (a) a checkpoint written by `ditc train` (model.safetensors and ema.safetensors) loads into the reference
#      DiT with strict name/shape matching (`dit_reference.py load-check` prints OK), and the reference's
#      forward/losses/gradients of those weights match `ditc check` on the same batch (compare.py tolerances);
#  (b) state_dicts written by PyTorch (`dit_reference.py save-torch`, F32 with {"format": "pt"} metadata,
#      F16, BF16) load into `ditc check`, whose numbers (output, losses, gradients) match the reference on
#      the same weights and batch, and `ditc sample` accepts such a file directly.
# Needs /usr/bin/python3 with torch for (a) and (b): without it (c) runs and the test is skipped (77).
source "$(dirname "$0")/test_lib.sh"

H=4
echo "== a tiny ditc run: ${tiny_train_flags[*]} --max-steps 4 --lr 1e-3 (seed 5)"
if ! run train "$DITC" train "${tiny_train_flags[@]}" --max-steps 4 --lr 1e-3 --global-seed 5 --log-every 2 \
    --results-dir "$TMP/results"; then
    fail "ditc train exited non-zero"
    show train
    finish
fi
CK=$(echo "$TMP"/results/000-*/checkpoints/0000004)
if [ -f "$CK/model.safetensors" ] && [ -f "$CK/ema.safetensors" ]; then
    pass "ditc train wrote $CK/{model,ema}.safetensors"
else
    fail "no checkpoint at $CK"
    ls -R "$TMP/results"
    finish
fi

# ---- (c) ditc inspect ---------------------------------------------------------------------------------
echo "== (c) ditc inspect $CK/model.safetensors"
if run inspect "$DITC" inspect "$CK/model.safetensors"; then
    out=$TMP/inspect.out
    ok=0
    # depth 2, D 64, p 4, C 4, S 16 (T 16), K 10: every reference name with its shape
    expect=(
        "pos_embed F32 [1, 16, 64]"
        "x_embedder.proj.weight F32 [64, 4, 4, 4]"
        "x_embedder.proj.bias F32 [64]"
        "t_embedder.mlp.0.weight F32 [64, 256]"
        "t_embedder.mlp.0.bias F32 [64]"
        "t_embedder.mlp.2.weight F32 [64, 64]"
        "t_embedder.mlp.2.bias F32 [64]"
        "y_embedder.embedding_table.weight F32 [11, 64]"
        "final_layer.linear.weight F32 [128, 64]"
        "final_layer.linear.bias F32 [128]"
        "final_layer.adaLN_modulation.1.weight F32 [128, 64]"
        "final_layer.adaLN_modulation.1.bias F32 [128]"
    )
    for i in 0 1; do
        expect+=("blocks.$i.attn.qkv.weight F32 [192, 64]" "blocks.$i.attn.qkv.bias F32 [192]"
                 "blocks.$i.attn.proj.weight F32 [64, 64]" "blocks.$i.attn.proj.bias F32 [64]"
                 "blocks.$i.mlp.fc1.weight F32 [256, 64]" "blocks.$i.mlp.fc1.bias F32 [256]"
                 "blocks.$i.mlp.fc2.weight F32 [64, 256]" "blocks.$i.mlp.fc2.bias F32 [64]"
                 "blocks.$i.adaLN_modulation.1.weight F32 [384, 64]" "blocks.$i.adaLN_modulation.1.bias F32 [384]")
    done
    # normalise the column padding: "name  F32  [a, b]" -> "name F32 [a, b]"
    sed -E 's/^([^ ]+) +([A-Z0-9]+) +\[/\1 \2 [/' "$out" >"$TMP/inspect.norm"
    for e in "${expect[@]}"; do
        grep -qxF "$e" "$TMP/inspect.norm" || { ok=1; echo "  missing line: $e"; }
    done
    nt=$(grep -cE '^[A-Za-z_][A-Za-z0-9_.]* +(F32|F16|BF16) +\[' "$out")
    [ "$nt" -eq "${#expect[@]}" ] || { ok=1; echo "  $nt tensor lines, expected ${#expect[@]}"; }
    grep -qE "^${#expect[@]} tensors, 192512 elements$" "$out" || { ok=1; echo "  summary line: $(tail -n 1 "$out")"; }
    for m in "format = ditc" "depth = 2" "hidden_size = 64" "num_heads = 4" "patch_size = 4" "in_channels = 4" \
             "input_size = 16" "num_classes = 10"; do
        grep -qxF "meta $m" "$out" || { ok=1; echo "  missing metadata line: meta $m"; }
    done
    check $ok "inspect lists all ${#expect[@]} tensors with reference names and shapes, 192512 elements, and the metadata ($(grep -c '^meta ' "$out") meta lines)"
    [ $ok -eq 0 ] || show inspect
else
    fail "ditc inspect exited non-zero"
    show inspect
fi
if run inspect_opt "$DITC" inspect "$CK/optimizer.safetensors" && grep -q '^exp_avg\.blocks\.0\.attn\.qkv\.weight ' "$TMP/inspect_opt.out" &&
    grep -q '^exp_avg_sq\.final_layer\.linear\.bias ' "$TMP/inspect_opt.out" && grep -qxF 'meta step = 4' "$TMP/inspect_opt.out"; then
    pass "inspect optimizer.safetensors: exp_avg.*, exp_avg_sq.*, meta step = 4; $(tail -n 1 "$TMP/inspect_opt.out")"
else
    fail "ditc inspect optimizer.safetensors"
    show inspect_opt
fi

if ! have_torch; then
    echo "SKIP (a), (b): $PY cannot import torch and numpy (the PyTorch reference is needed)"
    if [ "$NFAIL" -eq 0 ]; then echo "$TEST_NAME: SKIPPED ((c) passed)"; exit 77; fi
    finish
fi

# compare_with_reference LABEL [ditc check flags]: `ditc check` on the weights and batch of a case that
# interop_ref.py computed the reference numbers for (in $TMP/ref/LABEL).
compare_with_reference() {
    local label=$1 dir=$TMP/ref/$1
    shift
    if ! grep -q "^$label: reference" "$TMP/ref.out"; then
        fail "$label: the reference could not load/run the weights: $(grep "^$label:" "$TMP/ref.out")"
        show ref
        return
    fi
    echo "  $(grep "^$label: reference" "$TMP/ref.out")"
    if ! run "$label.check" "$DITC" check --ckpt "${weights[$label]}" --inputs "$dir/inputs.safetensors" \
        --out "$dir/got.safetensors" --grads "$@"; then
        fail "$label: ditc check --ckpt ${weights[$label]} exited non-zero"
        show "$label.check"
        return
    fi
    compare_results "$label" "$dir"
}

# ---- (a) ditc -> PyTorch ------------------------------------------------------------------------------
echo "== (a) ditc checkpoint -> PyTorch reference (strict load_state_dict)"
for f in model ema; do
    if run "load_$f" "$PY" "$REF/dit_reference.py" load-check --weights "$CK/$f.safetensors" --heads $H &&
        grep -q '^OK ' "$TMP/load_$f.out"; then
        pass "load-check $f.safetensors: $(head -n 1 "$TMP/load_$f.out")"
    else
        fail "load-check $f.safetensors"
        show "load_$f"
    fi
done

# ---- (b) PyTorch -> ditc: state_dicts as PyTorch writes them ----------------------------------------
echo "== (b) PyTorch-written state_dicts (save-torch)"
declare -A weights=([ditc-model]="$CK/model.safetensors")
cases=("ditc-model=$CK/model.safetensors:$H")
for dt in F32 F16 BF16; do
    w=$TMP/torch-$dt.safetensors
    extra=()
    [ "$dt" = F32 ] && extra=(--pt-metadata)
    if run "save_$dt" "$PY" "$REF/dit_reference.py" save-torch --out "$w" --depth 2 --hidden 48 --heads 3 --patch 2 \
        --channels 1 --side 8 --classes 6 --seed 11 --dtype $dt "${extra[@]}"; then
        echo "  $(head -n 1 "$TMP/save_$dt.out")"
        weights[torch-$dt]=$w
        cases+=("torch-$dt=$w:3")
    else
        fail "save-torch --dtype $dt"
        show "save_$dt"
    fi
done

echo "== reference numbers of each set of weights, then ditc check on the same weights and batch"
run ref "$PY" "$SRC/tests/interop_ref.py" --out "$TMP/ref" --batch 4 --seed 7 "${cases[@]}"
# (a): the heads of the ditc checkpoint come from its metadata (no --num-heads)
compare_with_reference ditc-model
for dt in F32 F16 BF16; do
    [ -n "${weights[torch-$dt]:-}" ] && compare_with_reference "torch-$dt" --num-heads 3
done
# the PyTorch-written 1-channel model straight into `ditc sample` (pixel space: no VAE needed)
if [ -f "$TMP/torch-BF16.safetensors" ] &&
    run sample "$DITC" sample --ckpt "$TMP/torch-BF16.safetensors" --num-heads 3 --num-sampling-steps 3 --per-class 1 \
        --out "$TMP/s.png" &&
    [ "$(head -c 8 "$TMP/s.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
    pass "ditc sample --ckpt <PyTorch BF16 file> wrote a PNG ($(wc -c <"$TMP/s.png") bytes): $(head -n 1 "$TMP/sample.out")"
else
    fail "ditc sample from a PyTorch-written file"
    show sample
fi
finish
