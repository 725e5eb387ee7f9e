#!/usr/bin/env bash
# `swalp bench quantize --device cuda` from a -DSWALP_CUDA=ON build. With a GPU: every format x
# every rounding mode runs (each checks the GPU's bits against the CPU quantizer before it
# reports a number) and prints its throughput next to the device copy. Without one: a clear
# error and exit status 1. Usage: test_bench_cuda.sh PATH_TO_SWALP
swalp="$1"
source "$(dirname "${BASH_SOURCE[0]}")/../cli/lib.sh"
"$swalp" bench quantize --device cuda --format bf16 --n 65536 --repetitions 1 > "$work/probe" 2> "$work/err"
rc=$?
if [ "$rc" -ne 0 ]; then
  echo "no usable GPU: checking the error path only"
  check "no GPU: exit status 1 (exit $rc)" [ "$rc" -eq 1 ]
  check "no GPU: the error says so" grep -q "no usable CUDA device" "$work/err"
else
  check "one format on the GPU" grep -q "bf16 nearest on 65536 values, cuda" "$work/probe"
  "$swalp" bench quantize --device cuda --format all --rounding all --n 1048576 --repetitions 2 \
    --out "$work" > "$work/all" 2> "$work/err"
  rc=$?
  check "every format and rounding on the GPU equals the CPU (exit $rc: $(cat "$work/err"))" [ "$rc" -eq 0 ]
  formats=$("$swalp" bench quantize --format all --rounding nearest --n 1024 --repetitions 1 | wc -l)
  check "one line per format and rounding" [ "$(wc -l < "$work/all")" -eq $((formats * 5)) ]
  check "summary.json lists them" grep -q '"device": "cuda"' "$work/summary.json"
  cat "$work/all"
fi
"$swalp" bench quantize --device tpu --format bf16 > /dev/null 2> "$work/err"
check "a bad device is refused naming the accepted ones" grep -q "accepted: cpu, cuda" "$work/err"
finish
