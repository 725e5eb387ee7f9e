#!/usr/bin/env bash
# `swalp reproduce` on small configurations: the reference protocol's table and files, the two
# studies, the four presets for one step each on synthetic CIFAR-format files, and bad input
# refused before any training. The runs are deterministic for a given seed and thread count.
# Usage: test_reproduce.sh PATH_TO_SWALP
swalp="$1"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$swalp" reproduce --epochs 6 --word-length 5 --word-lengths 4 --limit-train 10000 --limit-test 2000 \
  --seeds 1,2 --threads 2 --out "$work/run" > "$work/table.txt" 2> "$work/log.txt"
check "reproduce exits 0" [ $? -eq 0 ]
for f in summary.json table.md metrics.csv curves.csv sweep.csv; do check "writes $f" [ -s "$work/run/$f" ]; done
check "prints the six rows" [ "$(grep -cE '^\| (SGD-FP32|SWA-FP32|SGD-LP|SWALP|SWALP \(low-precision activations\)|SGD-LP \(full budget\)) \|' "$work/table.txt")" -eq 6 ]
check "mean ± std over two seeds" grep -q '±' "$work/table.txt"
# 2 seeds x (FP32, LP, LP-SGD) + 1 sweep run, 6 epochs each.
check "metrics: 7 runs x 6 epochs" [ "$(($(wc -l < "$work/run/metrics.csv") - 1))" -eq 42 ]
check "swa_start defaults to 2/3 of the epochs" grep -q "read after epoch 4 " "$work/table.txt"
python3 - "$work/run/summary.json" "$work/run/metrics.csv" <<'PY'
import csv, json, sys
s = json.load(open(sys.argv[1]))
for key in ["experiment", "word_length", "seeds", "seconds", "results", "sweep", "protocol"]:
    assert key in s, key
assert s["protocol"]["swa_start"] == 4 and s["protocol"]["test_batch_size"] == 128, s["protocol"]
r = s["results"]
for method in ["SGD-FP32", "SWA-FP32", "SGD-LP", "SWALP", "SWALP (low-precision activations)",
               "SGD-LP (full budget)"]:
    assert {"test_error_mean", "test_error_std", "per_seed"} <= set(r[method]), method
    assert len(r[method]["per_seed"]) == 2, method
assert [w["word_length"] for w in s["sweep"]] == [4, 5], s["sweep"]
rows = list(csv.DictReader(open(sys.argv[2])))
# SGD-FP32 and SGD-LP are the iterates after epoch swa_start (4), annealed to 1% of lr_init.
for name, key in [("FP32", "SGD-FP32"), ("LP", "SGD-LP")]:
    at4 = [float(x["test_error_sgd"]) for x in rows if x["run"] == name and x["epoch"] == "4"
           and x["format"] in ("fp32", "bfp:5")]
    assert at4 == r[key]["per_seed"], (key, at4, r[key]["per_seed"])
    lr4 = [float(x["lr"]) for x in rows if x["run"] == name and x["epoch"] == "4"]
    assert all(abs(lr - 0.05 * (1 - 0.99 * 0.25 / 0.4)) < 1e-12 for lr in lr4), lr4  # t = 3/4
swalp, sgd_lp = r["SWALP"]["test_error_mean"], r["SGD-LP"]["test_error_mean"]
print(f"SWALP {swalp:.2f}% vs SGD-LP {sgd_lp:.2f}%")
assert swalp < sgd_lp, "SWALP is not below SGD-LP"
PY
check "summary contract, SGD read at swa_start, SWALP < SGD-LP" [ $? -eq 0 ]

# The averaging study: fp32 and bfp:8 averages, per epoch and every 10 steps, one run.
"$swalp" reproduce --study averaging --epochs 3 --limit-train 2000 --limit-test 500 --seeds 1 \
  --average-word-lengths 8 --frequencies 0,10 --out "$work/avg" > "$work/avg.txt" 2> /dev/null
check "averaging study exits 0" [ $? -eq 0 ]
check "averaging: one training run" [ "$(grep -c '' "$work/avg/averaging.csv")" -eq 5 ]
check "averaging: table rows fp32 and bfp:8" [ "$(grep -cE '^\| (fp32|bfp:8) \|' "$work/avg.txt")" -eq 2 ]
# The format study at 6 bits: 7 formats.
"$swalp" reproduce --study formats --widths 6 --epochs 2 --limit-train 1000 --limit-test 300 --seeds 1 \
  --out "$work/fmt" > "$work/fmt.txt" 2> /dev/null
check "format study exits 0" [ $? -eq 0 ]
check "format study: fp32 and 7 formats" [ "$(grep -cE '^\| (32|6) \|' "$work/fmt.txt")" -eq 8 ]
check "format study: summary rows" python3 -c "import json,sys; s=json.load(open(sys.argv[1])); assert len(s['rows']) == 7" "$work/fmt/summary.json"
# Any format family in the comparison.
"$swalp" reproduce --format mx:fp8e4m3 --epochs 2 --limit-train 500 --limit-test 200 --seeds 1 \
  --word-lengths "" --no-full-budget > "$work/mx.txt" 2> /dev/null
check "mx:fp8e4m3 comparison" grep -q "mx:fp8e4m3" "$work/mx.txt"

# Presets: one step of every run on synthetic CIFAR-format files (random pixels).
python3 - "$work/c10" "$work/c100" <<'PY'
import os, random, sys
random.seed(1)
def records(n, labels):
    out = bytearray()
    for _ in range(n):
        out += bytes(random.randrange(c) for c in labels) + os.urandom(3072)
    return out
os.makedirs(sys.argv[1]); os.makedirs(sys.argv[2])
for name in [f"data_batch_{b}.bin" for b in range(1, 6)] + ["test_batch.bin"]:
    open(os.path.join(sys.argv[1], name), "wb").write(records(2, [10]))
for name in ["train.bin", "test.bin"]:
    open(os.path.join(sys.argv[2], name), "wb").write(records(4, [20, 100]))
PY
for preset in cifar10-vgg16 cifar100-vgg16 cifar10-preresnet164 cifar100-preresnet164; do
  data=cifar10:$work/c10; [ "${preset#cifar100}" != "$preset" ] && data=cifar100:$work/c100
  "$swalp" reproduce --preset $preset --data "$data" --epochs 2 --swa-start 1 --batch-size 4 \
    --limit-train 4 --limit-test 4 --seeds 1 --word-lengths "" --no-full-budget --threads 2 \
    --out "$work/$preset" \
    > "$work/$preset.txt" 2> "$work/$preset.log"
  check "preset $preset runs one step per epoch" [ $? -eq 0 ]
  check "preset $preset protocol" python3 -c "
import json, sys
s = json.load(open(sys.argv[1])); p = s['protocol']
vgg = 'vgg' in sys.argv[2]
assert s['model'] == ('vgg16' if vgg else 'preresnet164'), s['model']
assert p['lr_init'] == (0.05 if vgg else 0.1) and p['weight_decay'] == (5e-4 if vgg else 3e-4), p
assert p['swa_lr'] == 0.01 and p['format'] == 'bfp:8' and p['rounding'] == 'stochastic', p
" "$work/$preset/summary.json" "$preset"
done
expect_error "preset needs its data" 2 "give --data cifar10:DIR" \
  "$swalp" reproduce --preset cifar10-vgg16
expect_error "unknown preset" 2 "accepted: cifar10-vgg16, cifar100-vgg16" \
  "$swalp" reproduce --preset imagenet --data synthetic

finish
