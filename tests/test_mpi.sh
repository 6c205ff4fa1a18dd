#!/usr/bin/env bash
# test_mpi.sh DITC ST_COMPARE SRC — distributed training acceptance (ctest label mpi), with Open MPI:
#  1. 20 steps of a tiny config, global batch 12: per-step loss within 1e-5 relative for -np 1, 2, 3, data
#     parallel and --zero 2; final EMA weights within 1e-5;
#  2. a --zero 2 checkpoint written at -np 2 resumes at -np 3 and matches an uninterrupted -np 1 run (1e-5);
#  3. a rank that hits a corrupt input makes the job exit non-zero with that message, within a timeout;
#  4. optimizer-state bytes per rank at -np 3 with --zero 2 ≈ 1/3 of -np 1 (from the trainer's log).
# Exits 77 (skip) without mpirun or an MPI build of ditc.
. "$(dirname "$0")/mpi_lib.sh"
CMP="$2"; SRC="$3"
T=(--data-path synthetic --synthetic-size 96 --image-size 8 --model DiT-S/2 --depth 2 --hidden-size 32 --num-heads 2
   --patch-size 2 --global-batch-size 12 --log-every 1 --num-workers 0 --threads 1 --grad-bucket-mb 0.01)
mpi_probe T

run() { # np zero dir extra...
  local np=$1 z=$2 d=$3; shift 3
  timeout 300 "${MPI[@]}" "$np" "$DITC" train "${T[@]}" --zero "$z" --results-dir "$TMP/$d" "$@" > "$TMP/$d.log" 2>&1
}
losses() { tail -n +2 "$(ls "$TMP/$1"/*/metrics.csv)" | cut -d, -f1,3; }
close() { # two "step,loss" lists agree within 1e-5 relative
  paste -d, <(losses "$1") <(losses "$2") | awk -F, 'BEGIN{bad=0;n=0} {n++; if ($1!=$3) bad=1; d=$2-$4; if (d<0) d=-d; r=$2<0?-$2:$2; if (d > 1e-5*r) bad=1} END{exit (bad || n==0)}'
}
ema() { ls -d "$TMP/$1"/*/checkpoints/0000020 | head -1; }

run 1 0 np1 --max-steps 20 --ckpt-every 20; check $? "np 1 data parallel: 20 steps"
for np in 2 3; do
  for z in 0 2; do
    run $np $z np$np-z$z --max-steps 20 --ckpt-every 20
    check $? "np $np zero $z: 20 steps"
    close np1 np$np-z$z; check $? "np $np zero $z: per-step loss equals np 1 within 1e-5"
    "$CMP" "$(ema np1)/ema.safetensors" "$(ema np$np-z$z)/ema.safetensors" 1e-5 | sed 's/^/      /'
    check ${PIPESTATUS[0]} "np $np zero $z: final EMA weights within 1e-5 of np 1"
  done
done

# 2. ZeRO-2 checkpoint at np 2 (step 10) resumed at np 3 (to 20) = uninterrupted np 1
run 2 2 resume --max-steps 10 --ckpt-every 10; check $? "np 2 zero 2: 10 steps with a checkpoint"
timeout 300 "${MPI[@]}" 3 "$DITC" train --results-dir "$TMP/resume" --resume latest --max-steps 20 --ckpt-every 10 \
  > "$TMP/resume2.log" 2>&1
check $? "resumed at np 3 to step 20"
close np1 resume; check $? "resumed run: per-step loss equals the uninterrupted np 1 run within 1e-5"
for f in model ema optimizer; do
  "$CMP" "$(ema np1)/$f.safetensors" "$(ema resume)/$f.safetensors" 1e-5 | sed 's/^/      /'
  check ${PIPESTATUS[0]} "resumed run: $f.safetensors within 1e-5 of the np 1 run"
done

# 3. a corrupt input: an IDX file cut short -> every rank reports it, the job ends non-zero, no hang
mkdir -p "$TMP/bad"
printf '\x00\x00\x08\x03\x00\x00\x00\x10\x00\x00\x00\x08\x00\x00\x00\x08abc' > "$TMP/bad/train-images-idx3-ubyte"
printf '\x00\x00\x08\x01\x00\x00\x00\x10' > "$TMP/bad/train-labels-idx1-ubyte"
start=$(date +%s)
timeout 60 "${MPI[@]}" 3 "$DITC" train --data-path "$TMP/bad" --results-dir "$TMP/badrun" --global-batch-size 3 \
  --max-steps 2 --threads 1 > "$TMP/bad.log" 2>&1
rc=$?; took=$(( $(date +%s) - start ))
[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "train-images-idx3-ubyte" "$TMP/bad.log"
check $? "corrupt input under np 3: exit $rc after ${took}s with the file's message ($(grep -m1 'train-images' "$TMP/bad.log" | cut -c1-100))"

# 3b. an ImageFolder where exactly one file is corrupt: only the rank whose share of a step holds it fails;
# the job must still end (all ranks) non-zero with that file's message, within the timeout.
png=iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAGUlEQVR4nGNkYGiQY2DARCwMcgxYweCUAABY2QJC2r3zLgAAAABJRU5ErkJggg==
for c in a b; do
  mkdir -p "$TMP/folder/$c"
  for i in 0 1 2 3 4 5; do echo "$png" | base64 -d > "$TMP/folder/$c/img$i.png"; done
done
head -c 40 "$TMP/folder/a/img0.png" > "$TMP/folder/b/img3.png" # truncated
start=$(date +%s)
timeout 60 "${MPI[@]}" 3 "$DITC" train --data-path "$TMP/folder" --image-size 8 --model DiT-S/2 --depth 1 \
  --hidden-size 32 --num-heads 2 --global-batch-size 12 --max-steps 3 --num-workers 1 --threads 1 \
  --results-dir "$TMP/folderrun" > "$TMP/folder.log" 2>&1
rc=$?; took=$(( $(date +%s) - start ))
nmsg=$(grep -c "img3.png" "$TMP/folder.log")
[ $rc -ne 0 ] && [ $rc -ne 124 ] && [ "$nmsg" -ge 1 ]
check $? "one rank's corrupt image (b/img3.png) ends the np 3 job: exit $rc after ${took}s ($(grep -m1 'img3.png' "$TMP/folder.log" | cut -c1-110))"

# 3c. kill -9 of one rank mid-run: mpirun ends the job; --resume latest continues from the last complete
# checkpoint (checkpoints appear only when complete: written under a temporary name, then renamed).
"${MPI[@]}" 2 "$DITC" train "${T[@]}" --max-steps 100000 --ckpt-every 10 --log-every 50 --results-dir "$TMP/kill" \
  > "$TMP/kill.log" 2>&1 &
job=$!
for _ in $(seq 600); do ls "$TMP"/kill/*/checkpoints/0000020 >/dev/null 2>&1 && break; sleep 0.1; done
victim=$(pgrep -f "results-dir $TMP/kill" | grep -v "^$job\$" | tail -n 1)
[ -n "$victim" ] && kill -9 "$victim"
for _ in $(seq 300); do kill -0 "$job" 2>/dev/null || break; sleep 0.1; done
kill -0 "$job" 2>/dev/null && { kill -9 "$job"; echo "      mpirun did not end after the kill"; }
wait "$job"; rc=$?
latest=$(ls -d "$TMP"/kill/*/checkpoints/[0-9]* 2>/dev/null | sort | tail -n 1)
ok=1
[ -n "$victim" ] && [ $rc -ne 0 ] && [ -n "$latest" ] || ok=0
for f in model ema optimizer; do "$DITC" inspect "$latest/$f.safetensors" >/dev/null 2>&1 || ok=0; done
step=$((10#$(basename "$latest")))
timeout 300 "${MPI[@]}" 2 "$DITC" train --results-dir "$TMP/kill" --resume latest --max-steps $((step + 10)) \
  > "$TMP/kill2.log" 2>&1 || ok=0
grep -q "resumed from .*$(basename "$latest") at step $step" "$TMP/kill2.log" || ok=0
ls -d "$TMP"/kill/*/checkpoints/$(printf %07d $((step + 10))) >/dev/null 2>&1 || ok=0
check $((1 - ok)) "kill -9 of one rank ends the job (exit $rc); resume from the last complete checkpoint (step $step) to step $((step + 10))"

# 4. optimizer state per rank: np 3 --zero 2 vs np 1
b1=$(grep -o 'AdamW moments + EMA of [0-9]* of' "$TMP/np1.log" | grep -o '[0-9]*' | head -1)
b3=$(grep -o 'AdamW moments + EMA of [0-9]* of' "$TMP/np3-z2.log" | grep -o '[0-9]*' | head -1)
awk -v a="$b1" -v b="$b3" 'BEGIN{r=b/a; exit !(r > 0.30 && r < 0.36)}'
check $? "optimizer state per rank: np 3 --zero 2 holds $b3 of $b1 elements ($(awk -v a="$b1" -v b="$b3" 'BEGIN{printf "%.3f", b/a}') ≈ 1/3)"

echo "test_mpi: $passes passed, $fails failed"
[ $fails -eq 0 ]
