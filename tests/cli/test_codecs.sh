#!/usr/bin/env bash
# `swalp codecs` and `swalp bench comm` (one process): tables, summary.json, bad input.
# Usage: test_codecs.sh PATH_TO_SWALP
swalp="$1"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
mkdir -p "$work/c" "$work/b"
"$swalp" codecs --data normal,laplace --n 4096 --out "$work/c" > "$work/c.txt"
check "codecs ran" [ $? -eq 0 ]
check "2 data x 5 codecs x 2 roundings" [ "$(grep -cE '^(normal|laplace) ' "$work/c.txt")" -eq 20 ]
check "codecs summary" grep -q '"sqnr_db"' "$work/c/summary.json"
# The dynamic tree beats linear 8-bit in relative error on heavy-tailed data.
dt=$(awk '$1=="laplace" && $2=="dt8" && $3=="nearest" {print $5}' "$work/c.txt")
lin=$(awk '$1=="laplace" && $2=="int8" && $3=="nearest" {print $5}' "$work/c.txt")
check "dt8 relative error below int8's on Laplace data" awk -v a="$dt" -v b="$lin" 'BEGIN { exit !(a < b) }'
"$swalp" bench comm --max-log2 12 --repetitions 1 --out "$work/b" > "$work/b.txt"
check "bench comm ran" grep -q 'speedup model' "$work/b.txt"
check "bench comm summary" grep -q '"encode_gbps"' "$work/b/summary.json"
check "bench comm summary has both copy references" grep -q '"parallel_copy_gbps"' "$work/b/summary.json"
check "speedup model table" [ "$(wc -l < "$work/b/model.csv")" -eq 9 ]
if command -v gnuplot > /dev/null; then check "speedup model plot" [ -s "$work/b/speedup_model.png" ]; fi
"$swalp" codecs --codecs dt9 > /dev/null 2> "$work/err"
check "bad codec" grep -q "accepted: dt8, st8, int8, fp8e4m3, fp8e5m2" "$work/err"
"$swalp" codecs --data cauchy > /dev/null 2> "$work/err"
check "bad data" grep -q "accepted: normal, uniform, laplace" "$work/err"
"$swalp" bench comm --min-log2 20 --max-log2 10 > /dev/null 2> "$work/err"
check "bad size range" grep -q "must not exceed" "$work/err"
finish
