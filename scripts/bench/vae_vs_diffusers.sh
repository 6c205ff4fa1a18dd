#!/usr/bin/env bash
# vae_vs_diffusers.sh — side-by-side benchmark of the Stable Diffusion VAE: encode + decode of one S×S image
# (sd-vae-ft-ema config, random weights) with ditc and with diffusers' AutoencoderKL in PyTorch
# (torch.no_grad), on the same machine and threads, alternating, medians; peak resident memory of each
# process (ditc: /usr/bin/time %M of `ditc check --vae`, which loads the weights, encodes and decodes;
# PyTorch: ru_maxrss of a process that builds the model and encodes + decodes). The first step also runs the
# S×S parity case (the extended acceptance run): encoder mean/logvar and decoder outputs vs diffusers.
#
# usage: bash scripts/bench/vae_vs_diffusers.sh [size=256] [threads=2] [rounds=3]
# DITC_BASELINE=PATH: also time that ditc binary (e.g. a build of an older commit) in each round, for before/after.
# Prereqs: ./build/ditc (Release); /usr/bin/python3 with torch and diffusers (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
size="${1:-256}"; threads="${2:-2}"; rounds="${3:-3}"
export OMP_NUM_THREADS="$threads" OMP_WAIT_POLICY=PASSIVE
PY=/usr/bin/python3
REF=tests/reference/vae_reference.py
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ditc-vae-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); threads=$threads size=${size}x${size}"
$PY "$REF" make-case --out "$TMP/case" --size "$size" --seed 3
# parity at this size (both naming conventions give the same numbers; current names here)
./build/ditc check --vae "$TMP/case/current" --inputs "$TMP/case/inputs.safetensors" --out "$TMP/got.safetensors" \
    --threads "$threads" >/dev/null
$PY "$REF" compare --expected "$TMP/case/expected.safetensors" --got "$TMP/got.safetensors"
# timing input: x only (no z), so `ditc check` does exactly one encode and one decode
$PY - "$TMP/case/inputs.safetensors" "$TMP/x.safetensors" <<'PYEOF'
import sys
sys.path.insert(0, 'tests/reference')
import st
st.write(sys.argv[2], {'x': st.read(sys.argv[1])['x']})
PYEOF
de=(); dd=(); dm=(); pe=(); pd=(); pm=(); be=(); bd=(); bm=()
for r in $(seq "$rounds"); do
    if [ -n "${DITC_BASELINE:-}" ]; then
        /usr/bin/time -f 'maxrss_kb %M' -o "$TMP/time.txt" "$DITC_BASELINE" check --vae "$TMP/case/current" \
            --inputs "$TMP/x.safetensors" --out "$TMP/o.safetensors" --threads "$threads" >"$TMP/d.txt"
        be+=("$(sed -n 's/.*encode \([0-9.]*\) s.*/\1/p' "$TMP/d.txt")")
        bd+=("$(sed -n 's/.*decode \([0-9.]*\) s.*/\1/p' "$TMP/d.txt")")
        bm+=("$(awk '/maxrss_kb/ {print $2 / 1024}' "$TMP/time.txt")")
        echo "  round $r: baseline encode ${be[-1]} s, decode ${bd[-1]} s, peak RSS ${bm[-1]} MiB"
    fi
    /usr/bin/time -f 'maxrss_kb %M' -o "$TMP/time.txt" ./build/ditc check --vae "$TMP/case/current" \
        --inputs "$TMP/x.safetensors" --out "$TMP/o.safetensors" --threads "$threads" >"$TMP/d.txt"
    de+=("$(sed -n 's/.*encode \([0-9.]*\) s.*/\1/p' "$TMP/d.txt")")
    dd+=("$(sed -n 's/.*decode \([0-9.]*\) s.*/\1/p' "$TMP/d.txt")")
    dm+=("$(awk '/maxrss_kb/ {print $2 / 1024}' "$TMP/time.txt")")
    $PY "$REF" bench --size "$size" --threads "$threads" --repeat 1 >"$TMP/p.txt"
    pe+=("$(awk '/^encode_s/ {print $2}' "$TMP/p.txt")")
    pd+=("$(awk '/^decode_s/ {print $2}' "$TMP/p.txt")")
    pm+=("$(awk '/^peak_rss_mib/ {print $2}' "$TMP/p.txt")")
    echo "  round $r: ditc encode ${de[-1]} s, decode ${dd[-1]} s, peak RSS ${dm[-1]} MiB | PyTorch encode ${pe[-1]} s, decode ${pd[-1]} s, peak RSS ${pm[-1]} MiB"
done
tail -n 1 "$TMP/p.txt"
m() { printf '%s\n' "$@" | median; }
if [ -n "${DITC_BASELINE:-}" ]; then
    echo "baseline medians: encode $(m "${be[@]}") s, decode $(m "${bd[@]}") s, peak RSS $(m "${bm[@]}") MiB"
fi
awk -v de="$(m "${de[@]}")" -v dd="$(m "${dd[@]}")" -v dm="$(m "${dm[@]}")" -v pe="$(m "${pe[@]}")" \
    -v pd="$(m "${pd[@]}")" -v pm="$(m "${pm[@]}")" -v s="$size" 'BEGIN {
    printf "%dx%d medians: encode ditc %.2f s vs PyTorch %.2f s (%.2fx); decode ditc %.2f s vs PyTorch %.2f s (%.2fx); encode+decode %.2fx; peak RSS ditc %.0f MiB vs PyTorch %.0f MiB\n",
        s, s, de, pe, pe / de, dd, pd, pd / dd, (pe + pd) / (de + dd), dm, pm }'
