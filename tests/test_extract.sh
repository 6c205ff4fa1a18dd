#!/usr/bin/env bash
# test_extract.sh DITC SRC — `ditc extract` end to end on a generated CIFAR-10 test batch (10,000 records of
# 3073 bytes, label r % 10, a per-label pixel pattern; written with perl):
#  1. extract --split test --shard-size 4096 -> shard-00000..00002.safetensors + index.json (10,000 samples),
#     a shard is valid for `ditc inspect` (images U8 [1808, 3, 32, 32], labels I32 [1808]);
#  2. the same extraction with 1 thread gives byte-identical shards and index;
#  3. bad arguments each get one message naming the flag or path and a non-zero exit;
#  4. `ditc train --data-path <shards> --max-steps 3` with a tiny model runs and logs the shards source.
source "$(dirname "$0")/test_lib.sh"
if ! command -v perl >/dev/null 2>&1; then
    echo "SKIP $TEST_NAME: perl is needed to write the CIFAR-10 batch"
    exit 77
fi

# make_cifar DIR: DIR/cifar-10-batches-bin/test_batch.bin
make_cifar() {
    mkdir -p "$1/cifar-10-batches-bin"
    perl -e 'my @p = map { my $l = $_; join "", map { chr(($l * 31 + $_ * 7 + ($_ >> 7)) & 255) } 0 .. 3071 } 0 .. 9;
             binmode STDOUT; for my $r (0 .. 9999) { my $l = $r % 10; print chr($l), $p[$l] }' \
        >"$1/cifar-10-batches-bin/test_batch.bin"
}

make_cifar "$TMP/cifar"
check $(($(wc -c <"$TMP/cifar/cifar-10-batches-bin/test_batch.bin") != 30730000)) "generated test_batch.bin of 30730000 bytes"

# ---- 1. extract ----------------------------------------------------------------------------------------------
echo "== 1. ditc extract --split test --shard-size 4096"
if run extract "$DITC" extract --data-path "$TMP/cifar" --split test --out "$TMP/shards" --shard-size 4096; then
    pass "ditc extract exited 0 ($(tail -n 1 "$TMP/extract.out"))"
else
    fail "ditc extract exited non-zero"
    show extract
fi
ok=0
for f in shard-00000 shard-00001 shard-00002; do [ -f "$TMP/shards/$f.safetensors" ] || ok=1; done
[ ! -e "$TMP/shards/shard-00003.safetensors" ] && [ -f "$TMP/shards/index.json" ] || ok=1
check $ok "3 shards (4096 + 4096 + 1808) and index.json written"
grep -q '"total": 10000' "$TMP/shards/index.json" && grep -q '"count": 1808' "$TMP/shards/index.json" &&
    grep -q '"format": "ditc-shards"' "$TMP/shards/index.json"
check $? "index.json: format ditc-shards, total 10000, last shard 1808"
if run inspect "$DITC" inspect "$TMP/shards/shard-00002.safetensors"; then
    grep -q "images" "$TMP/inspect.out" && grep -q "1808, 3, 32, 32" "$TMP/inspect.out" && grep -q "labels" "$TMP/inspect.out"
    check $? "ditc inspect reads a shard: images U8 [1808, 3, 32, 32], labels"
else
    fail "ditc inspect on a shard failed"
    show inspect
fi
ls "$TMP/shards" | grep -q tmp
check $((!$?)) "no temporary files left in the output directory"

# ---- 2. thread count does not change the bytes ------------------------------------------------------------------
echo "== 2. --threads 1 gives identical shards"
if run extract1 "$DITC" extract --data-path "$TMP/cifar/cifar-10-batches-bin" --dataset cifar10 --split test \
    --out "$TMP/shards1" --shard-size 4096 --threads 1; then
    ok=0
    for f in shard-00000.safetensors shard-00001.safetensors shard-00002.safetensors; do
        cmp -s "$TMP/shards/$f" "$TMP/shards1/$f" || ok=1
    done
    # the index names its source (the path differs), everything else is the same
    cmp -s <(grep -v '"source"' "$TMP/shards/index.json") <(grep -v '"source"' "$TMP/shards1/index.json") || ok=1
    check $ok "shards identical with --threads 1 (and the batches directory given directly)"
else
    fail "ditc extract --threads 1 exited non-zero"
    show extract1
fi

# ---- 3. bad arguments -------------------------------------------------------------------------------------------
echo "== 3. bad arguments"
# bad LABEL EXPECTED_TEXT ARGS...: non-zero exit and EXPECTED_TEXT in stderr
bad() {
    local label=$1 want=$2
    shift 2
    if run "$label" "$DITC" extract "$@"; then
        fail "$label: exited 0"
        return
    fi
    grep -qF -- "$want" "$TMP/$label.err"
    check $? "$label: $(head -n 1 "$TMP/$label.err")"
}
bad vae "--vae sd-ft-ema: No such file or directory" --data-path "$TMP/cifar" --split test --out "$TMP/o1" --vae sd-ft-ema
bad no_out "--out is required" --data-path "$TMP/cifar"
bad missing "--data-path $TMP/nothere: No such file or directory" --data-path "$TMP/nothere" --out "$TMP/o2"
bad synthetic "synthetic" --data-path synthetic --out "$TMP/o3"
bad imagefolder_size "--image-size" --data-path "$TMP" --dataset imagefolder --out "$TMP/o4"
bad split "--split 'val'" --data-path "$TMP/cifar" --split val --out "$TMP/o5"
bad shard_size "--shard-size 0" --data-path "$TMP/cifar" --split test --shard-size 0 --out "$TMP/o6"
bad train_split "data_batch_1.bin" --data-path "$TMP/cifar" --out "$TMP/o7"
bad unknown_flag "--frobnicate" --data-path "$TMP/cifar" --out "$TMP/o8" --frobnicate 1

# ---- 4. training on the shards ----------------------------------------------------------------------------------
echo "== 4. ditc train --data-path <shards> --max-steps 3"
if run train "$DITC" train --data-path "$TMP/shards" --results-dir "$TMP/results" --model DiT-S/4 --depth 2 \
    --hidden-size 64 --num-heads 4 --global-batch-size 8 --max-steps 3 --log-every 1 --ckpt-every 100; then
    run_dir=$(echo "$TMP"/results/000-*)
    [ -f "$run_dir/checkpoints/0000003/ema.safetensors" ] && grep -q "step=0000003" "$run_dir/log.txt"
    check $? "ditc train ran 3 steps on the shards and wrote checkpoint 0000003"
    grep -qi "shards" "$TMP/train.out"
    check $? "the training log names the shards source"
else
    fail "ditc train on the shards exited non-zero"
    show train
fi
finish
