#!/usr/bin/env bash
# test_gpu_session_dry.sh SRC — the device script (scripts/gpu_session.sh) in its cheap dry run (DITC_GPU_DRY=2):
# the script parses, every stage is planned with its command, and what comes back is within the device tool's
# limits (at most 8 files: summary.txt + logs.tar.gz). A typo there would otherwise cost device time.
set -u
SRC=${1:?usage: bash $0 SOURCE_DIR}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ditc-gpu-dry.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
cd "$SRC" || exit 1
bash -n scripts/gpu_session.sh || { echo "FAIL gpu_session.sh: syntax"; exit 1; }
bash -n scripts/gpu_kit.sh || { echo "FAIL gpu_kit.sh: syntax"; exit 1; }
OUT=$TMP/out BUILD=$TMP/build DITC_GPU_DRY=2 bash scripts/gpu_session.sh >"$TMP/log" 2>&1
rc=$?
fail=0
[ $rc -eq 0 ] || { echo "FAIL dry run exit $rc"; tail -20 "$TMP/log"; fail=1; }
for s in env parity train memcheck racecheck bench_bf16 bench_tf32 bench_bf16_ckpt; do
    grep -q "^\[$s\]" "$TMP/out/summary.txt" || { echo "FAIL stage $s missing from the summary"; fail=1; }
done
n=$(find "$TMP/out" -type f | wc -l)
[ "$n" -le 8 ] && [ -f "$TMP/out/logs.tar.gz" ] && [ -f "$TMP/out/summary.txt" ] ||
    { echo "FAIL $n files under OUT (at most 8, with summary.txt and logs.tar.gz)"; fail=1; }
tar -tzf "$TMP/out/logs.tar.gz" | grep -q env.log || { echo "FAIL logs.tar.gz holds no env.log"; fail=1; }
[ $fail -eq 0 ] && echo "test_gpu_session_dry: PASS (dry run of scripts/gpu_session.sh: $n files back)"
exit $fail
