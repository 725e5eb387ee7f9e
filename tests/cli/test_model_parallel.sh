#!/usr/bin/env bash
# Model parallelism over MPI with 2 ranks: the split MLP with fp32 and dt8 activations and
# errors. Asserts dt8 sends <= 26% of the fp32 bytes and ends within 1 point of its test error,
# the run equals (within float summation order) the one-process network, and bad input is
# exit 2 naming the problem. Usage: test_model_parallel.sh PATH_TO_SWALP
swalp="$1"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
mpi=(mpirun --oversubscribe)
[ "$(id -u)" -eq 0 ] && mpi+=(--allow-run-as-root)
run=(train --model-parallel --data fashion-mnist --limit-train 6000 --limit-test 2000 --threads 1
     --epochs 3)
for codec in fp32 dt8; do
  "${mpi[@]}" -np 2 "$swalp" "${run[@]}" --act-codec "$codec" --out "$work/$codec" \
    > "$work/$codec.out" 2>&1
  check "$codec run finished" grep -q '"finished": true' "$work/$codec/summary.json"
done
"$swalp" "${run[@]}" --out "$work/one" > /dev/null 2>&1
value() { grep "\"$2\"" "$work/$1/summary.json" | head -1 | sed 's/.*: //; s/,$//'; }
fp32_bytes=$(value fp32 fp32_bytes_per_step) dt8_bytes=$(value dt8 bytes_sent_per_step)
fp32_error=$(value fp32 test_error_sgd) dt8_error=$(value dt8 test_error_sgd)
one_error=$(value one test_error_sgd)
echo "bytes per step: fp32 $fp32_bytes, dt8 $dt8_bytes; test error: one process $one_error," \
  "fp32 $fp32_error, dt8 $dt8_error"
check "fp32 counts its own bytes" [ "$(value fp32 bytes_sent_per_step)" = "$fp32_bytes" ]
check "dt8 sends <= 26% of the fp32 bytes" awk -v a="$dt8_bytes" -v b="$fp32_bytes" 'BEGIN { exit !(a <= 0.26 * b && a > 0) }'
check "dt8 within 1 point of fp32" awk -v a="$dt8_error" -v b="$fp32_error" 'BEGIN { d = a - b; exit !(d <= 1 && d >= -1) }'
check "2 ranks of fp32 within 1 point of one process" awk -v a="$fp32_error" -v b="$one_error" 'BEGIN { d = a - b; exit !(d <= 1 && d >= -1) }'
check "metrics per epoch" [ "$(wc -l < "$work/dt8/metrics.csv")" -eq 4 ]
check "two workers" grep -q '"workers": 2' "$work/dt8/summary.json"

small=(train --model-parallel --data synthetic --limit-train 200 --limit-test 100 --epochs 1)
expect_error "hidden not a multiple of the workers" 2 "must be a positive multiple of the 3 workers" \
  "${mpi[@]}" -np 3 "$swalp" "${small[@]}" --out "$work/x"
expect_error "hidden 0" 2 "--hidden 0 must be a positive multiple" "$swalp" "${small[@]}" --hidden 0 \
  --out "$work/h0"
expect_error "negative hidden" 2 "--hidden -8 must be a positive multiple" "$swalp" "${small[@]}" \
  --hidden -8 --out "$work/h1"
expect_error "unwritable run directory" 1 "cannot" "$swalp" "${small[@]}" --out /proc/swalp-mp
expect_error "bad activation codec" 2 "accepted: dt8, st8, int8, fp8e4m3, fp8e5m2, sign1" \
  "$swalp" "${small[@]}" --act-codec dt9 --out "$work/y"
expect_error "codec without --model-parallel" 2 "--act-codec needs --model-parallel" \
  "$swalp" train --act-codec dt8 --out "$work/y"
expect_error "both parallelisms" 2 "cannot be combined; choose one" \
  "$swalp" "${small[@]}" --data-parallel --out "$work/y"
expect_error "no resume" 2 "keep no checkpoint" "$swalp" "${small[@]}" --resume "$work/dt8"
expect_error "no formats" 2 "--format cannot be combined with it" \
  "$swalp" "${small[@]}" --format bfp:8 --out "$work/y"
expect_error "an existing run" 2 "already holds a run" "$swalp" "${small[@]}" --out "$work/dt8"
finish
