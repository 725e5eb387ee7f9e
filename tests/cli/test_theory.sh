#!/usr/bin/env bash
# `swalp theory`: small runs of both experiments write their tables, CSV files and summary.json
# with the slopes DESIGN.md names; bad input gives exit 2 and a message naming the accepted values.
# Usage: test_theory.sh PATH_TO_SWALP
swalp="$1"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$swalp" theory quadratic --chains 64 --steps 4000 --points 3 --fractional-bits 2,4 \
  --formats bf16 --out "$work/q" > "$work/q.txt" 2> "$work/q.err"
check "quadratic ran" [ $? -eq 0 ]
check "quadratic table" grep -q 'slope_vs_T (mean over the fixed point runs): SGD-LP' "$work/q.txt"
check "quadratic runs fp32, two gaps and bf16" [ "$(grep -cE '^[^ ]+ +avg ' "$work/q.txt")" -eq 4 ]
for f in summary.json distance_vs_T.csv noise_ball_vs_delta.csv; do
  check "quadratic wrote $f" [ -s "$work/q/$f" ]
done
check "summary has slope_vs_T" grep -q '"slope_vs_T"' "$work/q/summary.json"
check "3 T values x 4 runs in the CSV" [ "$(wc -l < "$work/q/distance_vs_T.csv")" -eq 13 ]
if command -v gnuplot > /dev/null; then
  check "quadratic plot" [ -s "$work/q/distance_vs_T.png" ]
fi

"$swalp" theory strongly-convex --chains 64 --steps 4000 --fractional-bits 4,6 --out "$work/s" \
  > "$work/s.txt" 2> /dev/null
check "strongly convex ran" [ $? -eq 0 ]
check "summary has slope_vs_delta" grep -q '"slope_vs_delta"' "$work/s/summary.json"
check "noise ball table" grep -q 'slope_vs_delta (asymptotic balls)' "$work/s.txt"
if command -v gnuplot > /dev/null; then
  check "noise ball plot" [ -s "$work/s/noise_ball_vs_delta.png" ]
fi

expect_error "no experiment" 2 "quadratic" "$swalp" theory
expect_error "diverging step" 2 "diverges" "$swalp" theory quadratic --lr 100
expect_error "too many bits" 2 "out of range" "$swalp" theory quadratic --fractional-bits 40
expect_error "bad data" 2 "accepted: synthetic, fashion-mnist" "$swalp" theory quadratic --data mnist
expect_error "bad format" 2 "accepted" "$swalp" theory quadratic --formats fp9
expect_error "one chain" 2 "chains must be >= 2" "$swalp" theory quadratic --chains 1

finish
