#!/usr/bin/env bash
# `swalp train --matmul-accumulate` (config key matmul_accumulate): every linear and convolution
# product rounds its sums; the run is reproducible for a seed, resumes bit for bit, the key is
# kept in config.toml, and bad specs or a GPU device are refused. Usage: PATH_TO_SWALP
swalp="$1"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

common=(--model mlp --data synthetic --limit-train 256 --limit-test 64 --batch-size 64 --seed 3)
"$swalp" train "${common[@]}" --epochs 2 --format bfp:8 --matmul-accumulate fp16:rounding=stochastic \
  --out "$work/a" > /dev/null 2>&1
check "trains with fp16 sums" [ -s "$work/a/metrics.csv" ]
check "config keeps the spec" grep -q '^matmul_accumulate = "fp16:rounding=stochastic"$' "$work/a/config.toml"
"$swalp" train "${common[@]}" --epochs 2 --format bfp:8 --matmul-accumulate fp16:rounding=stochastic \
  --out "$work/b" > /dev/null 2>&1
metrics() { cut -d, -f1-7 "$1/metrics.csv"; }  # all but the seconds
check "same seed, same run" cmp -s <(metrics "$work/a") <(metrics "$work/b")
"$swalp" train "${common[@]}" --epochs 2 --format bfp:8 --out "$work/c" > /dev/null 2>&1
differs() { ! cmp -s "$1" "$2"; }
check "fp16 sums change the run" differs <(metrics "$work/a") <(metrics "$work/c")
"$swalp" train "${common[@]}" --epochs 2 --format bfp:8 --matmul-accumulate fp16:rounding=stochastic \
  --stop-after 1 --out "$work/r" > /dev/null 2>&1
"$swalp" train --resume "$work/r" > /dev/null 2>&1
check "resumed run equals the whole run" cmp -s <(metrics "$work/a") <(metrics "$work/r")
"$swalp" train --model cnn --data synthetic --limit-train 128 --limit-test 64 --epochs 1 \
  --matmul-accumulate bf16:chunk=16 --out "$work/cnn" > /dev/null 2>&1
check "convolutions through im2col" [ -s "$work/cnn/metrics.csv" ]

expect_error "bad accumulation spec" 2 "shares a scale" "$swalp" train "${common[@]}" --epochs 1 \
  --matmul-accumulate bfp:8 --out "$work/x"
expect_error "bad accumulation option" 2 "unknown option 'speed'" "$swalp" train "${common[@]}" \
  --epochs 1 --matmul-accumulate fp16:speed=2 --out "$work/y"
echo not-a-directory > "$work/plain-file"
expect_error "bench train --out under a file" 1 "$work/plain-file/sub" "$swalp" bench train \
  --model mlp --steps 1 --matmul-accumulate fp16 --out "$work/plain-file/sub"
check "nothing timed before the --out error" [ ! -s "$work/out" ]

finish
