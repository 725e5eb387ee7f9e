#!/usr/bin/env bash
# `swalp accumulate` and `swalp bench matmul` on small configurations: table, CSV, summary.json
# with the fitted slopes, and exit 2 with the accepted values on bad input.
# Usage: test_accumulate.sh PATH_TO_SWALP
swalp="$1"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$swalp" accumulate --max-log2-k 10 --trials 16 --data positive,normal --out "$work/a" > "$work/a.txt" 2> /dev/null
check "accumulate ran" [ $? -eq 0 ]
for f in summary.json accumulate.csv; do check "wrote $f" [ -s "$work/a/$f" ]; done
# 2 data x 5 K x 3 accumulators x 2 roundings x 2 kinds, plus the header.
check "csv rows" [ "$(wc -l < "$work/a/accumulate.csv")" -eq 121 ]
check "slopes in summary" grep -q '"fp16/nearest/positive"' "$work/a/summary.json"
check "slope table printed" grep -qE '^  dot +fp16 +stochastic +positive +0\.[2-7]' "$work/a.txt"
if command -v gnuplot > /dev/null; then check "plot" [ -s "$work/a/accumulate.png" ]; fi
"$swalp" accumulate --accumulators fp16:order=pairwise,posit16 --roundings up --max-log2-k 7 \
  --min-log2-k 6 --trials 2 --data uniform --out "$work/b" > /dev/null 2>&1
check "pairwise and posit accumulators" [ "$(wc -l < "$work/b/accumulate.csv")" -eq 9 ]

"$swalp" bench matmul --shape 64x48x40 --accumulate fp16,bf16:rounding=stochastic,fixed:16:8 \
  --repetitions 1 --json > "$work/m.json"
check "bench matmul rows" [ "$(grep -c '"sgemm_gflops"' "$work/m.json")" -eq 3 ]
check "bench matmul conv shape" bash -c "'$swalp' bench matmul --shape conv --accumulate fp16 --repetitions 1 | grep -q '64x1024x576'"

# A second run into the same --out replaces each file whole.
"$swalp" accumulate --min-log2-k 6 --max-log2-k 7 --trials 2 --data uniform --accumulators fp16 \
  --out "$work/a" > /dev/null 2>&1
check "second run replaced the csv" [ "$(wc -l < "$work/a/accumulate.csv")" -eq 9 ]
check "second run replaced the summary" bash -c "! grep -q positive '$work/a/summary.json'"
check "no temporary left" bash -c "[ \$(ls -A '$work/a' | grep -vcE '^(accumulate\.(csv|png)|summary\.json|plot\.gp)$') -eq 0 ]"

echo not-a-directory > "$work/file"
expect_error "--out under a file" 1 "$work/file/sub" "$swalp" accumulate --max-log2-k 6 --out "$work/file/sub"
check "nothing printed before the --out error" [ ! -s "$work/out" ]
expect_error "empty --out" 2 "an empty directory name" "$swalp" accumulate --max-log2-k 6 --out ""
expect_error "operands beyond memory" 2 "the limit is 1024 MiB" "$swalp" accumulate --max-log2-k 24 --trials 4096
expect_error "no BLAS" 1 "no BLAS with cblas_sgemm found (tried libswalp-no-such-blas.so)" \
  env SWALP_BLAS=libswalp-no-such-blas.so "$swalp" bench matmul --shape 8x8x8 --repetitions 1
expect_error "bad data" 2 "accepted: normal, uniform, positive" "$swalp" accumulate --data cauchy
expect_error "shared-scale accumulator" 2 "cannot hold one running sum" "$swalp" accumulate --accumulators bfp:8
expect_error "bad rounding" 2 "accepted: nearest" "$swalp" accumulate --roundings sideways
expect_error "K range backwards" 2 "in order" "$swalp" accumulate --min-log2-k 9 --max-log2-k 3
expect_error "K range too long" 2 "--max-log2-k" "$swalp" accumulate --max-log2-k 30
expect_error "bad spec option" 2 "unknown option 'speed'" "$swalp" bench matmul --accumulate fp16:speed=9
expect_error "chunked without chunk" 2 "needs chunk" "$swalp" bench matmul --accumulate fp16:order=chunked
expect_error "bad shape" 2 "accepted: square" "$swalp" bench matmul --shape 10x10
expect_error "huge shape" 2 "1..65536" "$swalp" bench matmul --shape 100000x2x2
# A --out that cannot be created fails before the timings (it failed after them).
expect_error "bench matmul --out under a file" 1 "$work/file/sub" "$swalp" bench matmul --shape 8x8x8 --out "$work/file/sub"
check "nothing timed before the --out error" [ ! -s "$work/out" ]

# scripts/accumulate_training.sh refuses a bad PROTOCOL before creating anything, and a failed
# run names its log and shows the end of it instead of exiting silently.
training="$(dirname "${BASH_SOURCE[0]}")/../../scripts/accumulate_training.sh"
expect_error "training script: bad PROTOCOL" 2 "expected reduced or full"   env PROTOCOL=medium SWALP="$swalp" bash "$training" "$work/t1"
check "bad PROTOCOL created nothing" [ ! -e "$work/t1" ]
expect_error "training script: a failing run" 1 "the run with sums 'bogus' failed ($work/t2/bogus.log)" \
  env ACCUMULATE=bogus SWALP="$swalp" bash "$training" "$work/t2"

finish
