#!/usr/bin/env bash
# test_torch_pt.sh DITC SRC — PyTorch torch.save files (.pt/.pth) read in C, without Python.
# tests/reference/make_pt_files.py (Debian's torch) writes the files; then:
#  (a) every tensor ditc reads (`ditc convert --select all`) equals torch.load's bit for bit, names flattened
#      from the nested dicts: F32/F16/BF16 state_dicts, views (transposed, storage offsets, shared storages,
#      strides, stride 0, 0-d, empty, I64/I32/U8/F64), a reference train.py checkpoint (model, ema, AdamW state,
#      argparse args as metadata), a Large-DiT state_dict, deflated and ZIP64 re-zips with other archive names;
#      the same objects in the legacy (pre-1.6, non-zip) format (pickle protocols 2 and 4), and legacy storage
#      views (view_metadata, as PyTorch < 1.0 wrote them);
#  (b) selection: a checkpoint gives its EMA by default and its model with --select model / --use-model; a legacy
#      file gives the same `ditc inspect` output and the same `ditc convert` bytes as the zip file of its object;
#  (c) `ditc check --ckpt X.pt` writes the same bytes as `ditc check --ckpt X.safetensors` (DiT in F32/F16/BF16, the
#      checkpoint's EMA, the Large-DiT .pth), and `ditc sample --ckpt X.pt` the same PNG as from the safetensors;
#      a legacy .pt the same bytes as the zip .pt;
#  (d) bad files: pickles calling os.system / eval / exec, an unknown or refused opcode, a truncated zip, a wrong
#      CRC-32, declared sizes of 1 TiB, storages shorter than a tensor's extent, a stride-0 bomb, a missing record,
#      a bare pickle; legacy files: truncated storage data, a wrong magic number, a storage missing from the key
#      list, 2^40 declared elements, big-endian, a view outside its storage, a record count that disagrees, the tar
#      format: one clear message naming the file (and global/opcode/tensor), non-zero exit, no crash, no code run.
source "$(dirname "$0")/test_lib.sh"
need_torch
MK=$REF/make_pt_files.py
G=$TMP/good
B=$TMP/bad
if ! run make "$PY" "$MK" make --out "$G" || ! run makebad "$PY" "$MK" bad --out "$B" --marker "$TMP/PWNED"; then
    fail "make_pt_files.py"
    show make
    show makebad
    finish
fi
echo "  $(cat "$TMP/make.out") ; $(cat "$TMP/makebad.out")"

# ---- (a) bit for bit ---------------------------------------------------------------------------------
for f in sd_f32.pt sd_f16.pt sd_bf16.pt views.pt ckpt.pt consolidated.00-of-01.pth deflated.pt zip64.pt \
    zip64_deflated.pt sd_f32.legacy.pt sd_f16.legacy.pt sd_bf16.legacy.pt views.legacy.pt views.legacy_p4.pt \
    legacy_views.pt ckpt.legacy.pt consolidated.00-of-01.legacy.pth; do
    if run "conv.$f" "$DITC" convert "$G/$f" "$TMP/$f.all.safetensors" --select all &&
        run "verify.$f" "$PY" "$MK" verify "$G/$f" "$TMP/$f.all.safetensors"; then
        pass "$(tail -n 1 "$TMP/verify.$f.out")"
    else
        fail "$f: convert + verify"
        show "conv.$f"
        show "verify.$f"
    fi
done

# ---- (b) selection --------------------------------------------------------------------------------------
same() { # LABEL A B
    if run "same.$1" "$PY" "$MK" same "$2" "$3"; then pass "$1: $(tail -n 1 "$TMP/same.$1.out")"; else
        fail "$1"
        show "same.$1"
    fi
}
run conv.ema "$DITC" convert "$G/ckpt.pt" "$TMP/ema.safetensors" && same "convert ckpt.pt (default: ema)" \
    "$G/ckpt.ema.safetensors" "$TMP/ema.safetensors" || show conv.ema
run conv.model "$DITC" convert "$G/ckpt.pt" "$TMP/model.safetensors" --select model &&
    same "convert ckpt.pt --select model" "$G/ckpt.model.safetensors" "$TMP/model.safetensors" || show conv.model
run conv.mo "$DITC" convert "$G/model_only.pt" "$TMP/mo.safetensors" &&
    same "convert {\"model\"} checkpoint (no ema: model)" "$G/ckpt.model.safetensors" "$TMP/mo.safetensors" ||
    show conv.mo
if run inspect "$DITC" inspect "$G/ckpt.pt" && grep -qxF 'meta args.model = DiT-S/2' "$TMP/inspect.out" &&
    grep -qxF 'meta opt.param_groups.0.betas = (0.9, 0.999)' "$TMP/inspect.out" &&
    grep -qE '^opt\.state\.[0-9]+\.exp_avg +F32 +\[' "$TMP/inspect.out" && grep -qE '^ema\.pos_embed +F32 +\[1, 16, 48\]' "$TMP/inspect.out"; then
    pass "inspect ckpt.pt: full names (ema.*, model.*, opt.state.N.exp_avg), args and param_groups as metadata; $(tail -n 1 "$TMP/inspect.out")"
else
    fail "inspect ckpt.pt"
    show inspect
fi
# legacy = zip: `ditc inspect` prints the same lines, `ditc convert` (default, --select model, all) the same bytes
for f in sd_f32 sd_bf16 views ckpt model_only consolidated.00-of-01; do
    z=$f.pt
    [ "$f" = consolidated.00-of-01 ] && z=$f.pth
    l=${z%.*}.legacy.${z##*.}
    ok=1
    run "insp.z.$f" "$DITC" inspect "$G/$z" && run "insp.l.$f" "$DITC" inspect "$G/$l" &&
        cmp -s "$TMP/insp.z.$f.out" "$TMP/insp.l.$f.out" || ok=0
    for sel in default model all; do
        [ $ok -eq 1 ] || break
        flag=(--select "$sel")
        [ "$sel" = default ] && flag=()
        if [ "$sel" = model ] && [ "${f#ckpt}" = "$f" ] && [ "${f#model_only}" = "$f" ]; then continue; fi
        run "cv.z.$f.$sel" "$DITC" convert "$G/$z" "$TMP/$f.$sel.z.safetensors" "${flag[@]}" &&
            run "cv.l.$f.$sel" "$DITC" convert "$G/$l" "$TMP/$f.$sel.l.safetensors" "${flag[@]}" &&
            cmp -s "$TMP/$f.$sel.z.safetensors" "$TMP/$f.$sel.l.safetensors" || ok=0
    done
    if [ $ok -eq 1 ]; then
        pass "$l = $z: the same inspect output ($(wc -l <"$TMP/insp.l.$f.out") lines) and convert bytes ($(wc -c <"$TMP/$f.all.l.safetensors") with --select all)"
    else
        fail "$l vs $z: inspect or convert differ or failed"
        show "insp.l.$f"
    fi
done

# ---- (c) ditc check and ditc sample: .pt = .safetensors, byte for byte --------------------------------
"$PY" "$SRC/tests/make_check_inputs.py" "$TMP/in1.safetensors" 4 1 8 6 3
"$PY" "$SRC/tests/make_check_inputs.py" "$TMP/in4.safetensors" 3 4 8 6 4
check_same() { # LABEL PT ST INPUTS [flags]
    local label=$1 pt=$2 sf=$3 in=$4
    shift 4
    if run "chk.pt.$label" "$DITC" check --ckpt "$pt" --inputs "$in" --out "$TMP/$label.pt.out" --grads --train-steps 2 "$@" &&
        run "chk.st.$label" "$DITC" check --ckpt "$sf" --inputs "$in" --out "$TMP/$label.st.out" --grads --train-steps 2 "$@" &&
        cmp -s "$TMP/$label.pt.out" "$TMP/$label.st.out"; then
        pass "check --ckpt $(basename "$pt") = --ckpt $(basename "$sf"): $(wc -c <"$TMP/$label.pt.out") bytes identical (outputs, losses, grads, 2 AdamW steps)"
    else
        fail "check $label: .pt and .safetensors differ or failed"
        show "chk.pt.$label"
        show "chk.st.$label"
    fi
}
for dt in f32 f16 bf16; do check_same "sd_$dt" "$G/sd_$dt.pt" "$G/sd_$dt.safetensors" "$TMP/in1.safetensors" --num-heads 3; done
check_same ckpt "$G/ckpt.pt" "$G/ckpt.ema.safetensors" "$TMP/in1.safetensors" --num-heads 3
check_same ldit "$G/consolidated.00-of-01.pth" "$G/consolidated.00-of-01.safetensors" "$TMP/in4.safetensors" --num-heads 4
sample_same() { # LABEL PT ST [flags]
    local label=$1 pt=$2 sf=$3
    shift 3
    local f=(--num-heads 3 --num-sampling-steps 4 --per-class 1 --seed 2 "$@")
    if run "smp.pt.$label" "$DITC" sample --ckpt "$pt" "${f[@]}" --out "$TMP/$label.pt.png" &&
        run "smp.st.$label" "$DITC" sample --ckpt "$sf" "${f[@]}" --out "$TMP/$label.st.png" &&
        cmp -s "$TMP/$label.pt.png" "$TMP/$label.st.png"; then
        pass "sample --ckpt $(basename "$pt") $* = from $(basename "$sf"): identical PNGs ($(wc -c <"$TMP/$label.pt.png") bytes)"
    else
        fail "sample $label: .pt and .safetensors differ or failed"
        show "smp.pt.$label"
        show "smp.st.$label"
    fi
}
sample_same ema "$G/ckpt.pt" "$G/ckpt.ema.safetensors"
sample_same model "$G/ckpt.pt" "$G/ckpt.model.safetensors" --use-model
sample_same bf16 "$G/sd_bf16.pt" "$G/sd_bf16.safetensors"
# the legacy format: the same bytes as the zip .pt of the same object
for dt in f32 f16 bf16; do check_same "legacy_$dt" "$G/sd_$dt.legacy.pt" "$G/sd_$dt.pt" "$TMP/in1.safetensors" --num-heads 3; done
check_same legacy_ckpt "$G/ckpt.legacy.pt" "$G/ckpt.pt" "$TMP/in1.safetensors" --num-heads 3
check_same legacy_ldit "$G/consolidated.00-of-01.legacy.pth" "$G/consolidated.00-of-01.pth" "$TMP/in4.safetensors" --num-heads 4
sample_same legacy_ema "$G/ckpt.legacy.pt" "$G/ckpt.pt"
sample_same legacy_model "$G/ckpt.legacy.pt" "$G/ckpt.pt" --use-model
sample_same legacy_bf16 "$G/sd_bf16.legacy.pt" "$G/sd_bf16.pt"

# ---- (d) bad files ----------------------------------------------------------------------------------------
expect_error() { # LABEL "NEEDLE[|NEEDLE2...]" CMD...: fails cleanly (1..127), one short message with every needle
    local label=$1 needles=$2 rc ok=1 why="" n
    shift 2
    run bad "$@"
    rc=$?
    local err=$TMP/bad.err
    if [ "$rc" -eq 0 ]; then why="exit status 0"
    elif [ "$rc" -ge 128 ]; then why="exit status $rc (a crash)"
    elif grep -qE 'internal error|Sanitizer|runtime error:|Segmentation|Aborted' "$err"; then why="crash report"
    elif [ "$(wc -l <"$err")" -gt 2 ] || [ ! -s "$err" ]; then why="expected one message, got $(wc -l <"$err") lines"
    else
        IFS='|' read -r -a list <<<"$needles"
        for n in "${list[@]}"; do grep -qF -- "$n" "$err" || why="stderr does not mention '$n'"; done
    fi
    [ -z "$why" ] || ok=0
    if [ $ok -eq 1 ]; then pass "$label: exit $rc: $(head -n 1 "$err" | cut -c1-220)"; else
        fail "$label: $why"
        show bad
    fi
}
sm=(--num-sampling-steps 2 --out "$TMP/x.png")
expect_error "os.system in the pickle" "$B/os_system.pt|posix.system|not allowed" "$DITC" sample --ckpt "$B/os_system.pt" "${sm[@]}"
expect_error "eval (protocol 2: __builtin__.eval)" "$B/eval.pt|__builtin__.eval" "$DITC" inspect "$B/eval.pt"
expect_error "builtins.eval" "$B/builtins_eval.pt|builtins.eval" "$DITC" convert "$B/builtins_eval.pt" "$TMP/x.safetensors"
expect_error "exec inside the ema dict" "$B/exec_nested.pt|__builtin__.exec" "$DITC" check --ckpt "$B/exec_nested.pt" \
    --inputs "$TMP/in1.safetensors" --out "$TMP/x.safetensors"
expect_error "refused opcode INST" "$B/bad_opcode.pt|INST" "$DITC" inspect "$B/bad_opcode.pt"
expect_error "unknown opcode" "$B/unknown_opcode.pt|opcode 0xff" "$DITC" inspect "$B/unknown_opcode.pt"
expect_error "truncated zip" "$B/truncated.pt|truncated" "$DITC" sample --ckpt "$B/truncated.pt" "${sm[@]}"
expect_error "wrong CRC-32 of a storage record" "$B/bad_crc.pt|good/data/0|CRC-32" "$DITC" inspect "$B/bad_crc.pt"
expect_error "deflated storage declaring 1 TiB" "$B/huge_size.pt|1099511627776|impossible" "$DITC" inspect "$B/huge_size.pt"
expect_error "deflated data.pkl declaring 1 TiB" "$B/huge_pickle.pt|data.pkl|impossible" "$DITC" inspect "$B/huge_pickle.pt"
expect_error "storage declaring 10^15 elements" "$B/huge_numel.pt|\"w\"|1000000000000000" "$DITC" inspect "$B/huge_numel.pt"
expect_error "storage shorter than the tensor" "$B/short_storage.pt|\"w\"|shorter than the tensor's extent" \
    "$DITC" inspect "$B/short_storage.pt"
expect_error "storage offset past the end" "$B/short_offset.pt|\"w\"|shorter than the tensor's extent" \
    "$DITC" inspect "$B/short_offset.pt"
expect_error "stride-0 view of 10^12 elements" "$B/stride0_bomb.pt|\"w\"|4 x the file" "$DITC" inspect "$B/stride0_bomb.pt"
expect_error "missing storage record" "$B/missing_record.pt|archive/data/0|missing" "$DITC" inspect "$B/missing_record.pt"
expect_error "legacy: os.system in the object pickle" "$B/legacy_os_system.pt|posix.system|not allowed" "$DITC" sample \
    --ckpt "$B/legacy_os_system.pt" "${sm[@]}"
expect_error "legacy: truncated storage data" "$B/legacy_truncated.pt|past the end of the file|truncated" "$DITC" sample \
    --ckpt "$B/legacy_truncated.pt" "${sm[@]}"
expect_error "legacy: wrong magic number" "$B/legacy_bad_magic.pt|magic number" "$DITC" inspect "$B/legacy_bad_magic.pt"
expect_error "legacy: a storage missing from the key list" "$B/legacy_missing_key.pt|storage 1|missing from the storage keys" \
    "$DITC" convert "$B/legacy_missing_key.pt" "$TMP/x.safetensors"
expect_error "legacy: 2^40 elements declared" "$B/legacy_huge_numel.pt|1099511627776|past the end of the file" "$DITC" \
    inspect "$B/legacy_huge_numel.pt"
expect_error "legacy: big-endian" "$B/legacy_big_endian.pt|big-endian" "$DITC" check --ckpt "$B/legacy_big_endian.pt" \
    --inputs "$TMP/in1.safetensors" --out "$TMP/x.safetensors"
expect_error "legacy: a storage view outside its storage" "$B/legacy_view_outside.pt|\"w\"|storage view" "$DITC" inspect \
    "$B/legacy_view_outside.pt"
expect_error "legacy: a record count that disagrees" "$B/legacy_count.pt|storage 1|holds 3 elements" "$DITC" inspect \
    "$B/legacy_count.pt"
expect_error "legacy: the tar format" "$B/legacy_tar.pt|tar" "$DITC" inspect "$B/legacy_tar.pt"
expect_error "bare pickle" "$B/bare_pickle.pt|bare Python pickle" "$DITC" inspect "$B/bare_pickle.pt"
expect_error "zip without data.pkl" "$B/no_data_pkl.pt|data.pkl" "$DITC" inspect "$B/no_data_pkl.pt"
expect_error "Namespace BUILT from itself" "$B/ns_self_build.pt|argparse.Namespace from itself" "$DITC" inspect \
    "$B/ns_self_build.pt"
expect_error "Namespace BUILT 1000 times from 500 fields" "$B/ns_build_bomb.pt|BUILD copies more fields" "$DITC" inspect \
    "$B/ns_build_bomb.pt"
expect_error "a long string shared under 1000 names" "$B/shared_text.pt|names and metadata would take more than" \
    "$DITC" inspect "$B/shared_text.pt"
expect_error "--select of a missing key" "$G/ckpt.pt|\"nope\"|\"ema\"" "$DITC" convert "$G/ckpt.pt" "$TMP/x.safetensors" --select nope
expect_error "sample --use-model of a bare state_dict" "$G/sd_f32.pt|\"model\"" "$DITC" sample --ckpt "$G/sd_f32.pt" \
    --use-model "${sm[@]}"
expect_error "convert: missing OUT" "IN OUT.safetensors" "$DITC" convert "$G/ckpt.pt"
[ ! -e "$TMP/PWNED" ] && pass "no pickle ran code ($TMP/PWNED not created)" || fail "a pickle ran code: $TMP/PWNED exists"
finish
