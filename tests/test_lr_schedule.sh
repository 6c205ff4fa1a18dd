#!/usr/bin/env bash
# test_lr_schedule.sh DITC SRC — --lr-schedule cosine: the lr column of metrics.csv follows the warm-up then
# lr · (r + (1 − r)·(1 + cos(π·f))/2), f = (step − warmup)/(total − warmup) (step = updates done before the step),
# ending near lr · r; resuming at step 10 of 20 ends equal to the straight run bit for bit; a bad --lr-schedule is refused.
source "$(dirname "$0")/test_lib.sh"

F=("${tiny_train_flags[@]}" --log-every 1 --num-workers 1 --threads 1 --lr 1e-3 --warmup-steps 5 --lr-schedule cosine
   --min-lr-ratio 0.1 --max-steps 20)
run straight "$DITC" train "${F[@]}" --results-dir "$TMP/s" --ckpt-every 20 || { fail "cosine run"; show straight; finish; }
csv=$(ls "$TMP"/s/*/metrics.csv)
awk -F, 'NR > 1 { s = $1 - 1; want = s < 5 ? 1e-3 * (s + 1) / 5 : 1e-3 * (0.1 + 0.9 * 0.5 * (1 + cos(3.141592653589793 * (s - 5) / 15)));
                  d = $6 - want; if (d < 0) d = -d; if (d > 1e-5 * want) { bad = 1; print "  step " $1 ": lr " $6 " want " want } }
         END { exit bad }' "$csv"
check $? "lr column = warm-up 5 then cosine to 0.1 x lr (step 20: $(tail -n 1 "$csv" | cut -d, -f6))"
# the schedule runs to the run's last step (--max-steps 20 here), so a resumed run keeps it: a second run with
# checkpoints at 10 and 20 loses its step-20 checkpoint and resumes from step 10
run part1 "$DITC" train "${F[@]}" --results-dir "$TMP/r" --ckpt-every 10 || { fail "part 1"; show part1; }
c10=$(ls -d "$TMP"/r/*/checkpoints/0000010)
rm -r "$(dirname "$c10")/0000020"
run part2 "$DITC" train --results-dir "$TMP/r" --resume "$c10" || { fail "resume"; show part2; }
ok=0
for f in model ema optimizer; do
    cmp -s "$(ls -d "$TMP"/s/*/checkpoints/0000020)/$f.safetensors" "$(ls -d "$TMP"/r/*/checkpoints/0000020)/$f.safetensors" || ok=1
done
check $ok "cosine: resumed at step 10 of 20 = 20 straight (model, ema, optimizer bit for bit)"
run bad "$DITC" train "${F[@]}" --results-dir "$TMP/b" --lr-schedule linear
[ $? != 0 ] && grep -q -- "--lr-schedule linear: expected constant or cosine" "$TMP/bad.err"
check $? "--lr-schedule linear is refused: '$(head -c 100 "$TMP/bad.err")'"
finish
