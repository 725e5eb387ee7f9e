#!/usr/bin/env bash
# `swalp reproduce` refuses bad input with exit 2 before any training (each would otherwise run
# for minutes), runs into a busy or unwritable directory are refused, and divergence exits 1.
# Split from test_reproduce.sh so that ctest runs the two side by side.
# Usage: test_reproduce_errors.sh PATH_TO_SWALP
swalp="$1"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

expect_error "repeated seeds" 2 "repeated seeds" "$swalp" reproduce --seeds 1,1
expect_error "sweep word length 1" 2 "in [2, 24]" "$swalp" reproduce --word-lengths 1
expect_error "sweep word length 0" 2 "--word-lengths" "$swalp" reproduce --word-lengths 0
expect_error "sweep of a format without a word length" 2 "needs a bfp:WL or int:B format" \
  "$swalp" reproduce --format fp8e4m3
expect_error "bad study" 2 "accepted: comparison, averaging, formats" "$swalp" reproduce --study all
expect_error "bad format" 2 "bfp" "$swalp" reproduce --format bfp:99 --word-lengths ""
expect_error "bad momentum" 2 "momentum" "$swalp" reproduce --momentum 2
expect_error "negative seed" 2 "--seeds" "$swalp" reproduce --seeds 1,-2
expect_error "empty seeds" 2 "no seeds" "$swalp" reproduce --seeds ""
expect_error "seed beyond 2^62" 2 "expected decimal integers" "$swalp" reproduce --seeds 99999999999999999999
expect_error "seed with a space" 2 "expected decimal integers" "$swalp" reproduce --seeds " 1"
# A bad accumulation spec is refused before the FP32 baseline, which rounds no sums, runs.
expect_error "bad --matmul-accumulate" 2 "unknown format name 'bogus'" \
  "$swalp" reproduce --matmul-accumulate bogus --word-lengths ""
check "no run before the spec error" bash -c "! grep -q epoch '$work/out' '$work/err'"
expect_error "NaN momentum" 2 "--momentum: 'nan' is not a finite decimal number" "$swalp" reproduce --momentum nan
expect_error "infinite weight decay" 2 "--weight-decay: 'inf' is not a finite decimal number" "$swalp" reproduce --weight-decay inf
expect_error "NaN learning rate" 2 "--lr-init: 'nan' is not a finite decimal number" "$swalp" reproduce --lr-init nan
expect_error "zero batch" 2 "batch size must be >= 1" "$swalp" reproduce --batch-size 0
expect_error "negative epochs" 2 "epochs must be >= 1" "$swalp" reproduce --epochs -3
expect_error "negative limit" 2 "bad example limit -5" "$swalp" reproduce --limit-train -5
expect_error "bad eval" 2 "accepted: fp32, quantized, both" "$swalp" reproduce --eval maybe
expect_error "bad activation scope" 2 "accepted: tensor, sample" "$swalp" reproduce --activation-scope row
expect_error "format study width 7" 2 "compares 8 or 6 bits" "$swalp" reproduce --study formats --widths 7
expect_error "format study without widths" 2 "--widths is empty" "$swalp" reproduce --study formats --widths ""
expect_error "negative averaging frequency" 2 "--frequencies" "$swalp" reproduce --study averaging --frequencies -1
expect_error "averaging study without frequencies" 2 "at least one word length and one frequency" \
  "$swalp" reproduce --study averaging --frequencies ""
expect_error "average word length 99" 2 "--average-word-lengths" "$swalp" reproduce --study averaging --average-word-lengths 99
expect_error "word length -1" 2 "not in range 2 to 32" "$swalp" reproduce --word-length -1
expect_error "empty format" 2 "empty spelling" "$swalp" reproduce --format ""
expect_error "missing CIFAR files" 2 "cannot open CIFAR file" "$swalp" reproduce --preset cifar10-vgg16 --data cifar10:"$work/nothing"
expect_error "data and experiment both" 2 "not both" "$swalp" reproduce --experiment synthetic --data synthetic
echo "a file, not a folder" > "$work/table.txt"
expect_error "output under a file" 1 "Not a directory" "$swalp" reproduce --experiment synthetic --out "$work/table.txt/run"
if [ "$(id -u)" -ne 0 ]; then
  mkdir -p "$work/ro" && chmod 500 "$work/ro"
  expect_error "unwritable output" 1 "cannot" "$swalp" reproduce --experiment synthetic --out "$work/ro/run"
fi
# Two runs into one directory: the second is refused at once, naming the first's pid.
"$swalp" reproduce --experiment synthetic --epochs 3 --limit-train 3000 --seeds 1 --word-lengths "" \
  --no-full-budget --threads 1 --out "$work/busy" > /dev/null 2>&1 &
first=$!
for _ in $(seq 200); do [ -s "$work/busy/.swalp.lock" ] && break; sleep 0.05; done
expect_error "second run into a busy directory" 2 "is in use by another swalp process (pid $first)" \
  "$swalp" reproduce --experiment synthetic --epochs 2 --seeds 1 --out "$work/busy"
wait "$first"
check "the first run finished its results" [ -s "$work/busy/summary.json" ]
"$swalp" reproduce --experiment synthetic --epochs 3 --lr-init 1e12 --swa-lr 1e12 --word-lengths "" \
  > /dev/null 2> "$work/diverge.txt"
check "divergence exits 1" [ $? -eq 1 ]
check "divergence message" grep -q "diverged" "$work/diverge.txt"
expect_error "unknown model" 2 "accepted: logreg, mlp, cnn, lenet" "$swalp" reproduce --model resnet9000 --epochs 2
expect_error "swa-start past the end" 2 "swa_start 3 must be in [1, epochs - 1]" \
  "$swalp" reproduce --epochs 3 --swa-start 3
expect_error "bad device" 2 "accepted: cpu, cuda, auto" \
  "$swalp" reproduce --experiment synthetic --device tpu --out "$work/bad-device"

finish
