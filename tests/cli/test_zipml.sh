#!/usr/bin/env bash
# `swalp zipml` and `swalp bench zipml` on small configurations: tables, CSV, summary.json,
# and exit 2 with the accepted values on bad input. Usage: test_zipml.sh PATH_TO_SWALP
swalp="$1"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$swalp" zipml --n 500 --dim 10 --epochs 3 --bits 2,8 --out "$work/z" > "$work/z.txt" 2> /dev/null
check "zipml ran" [ $? -eq 0 ]
check "table has both widths" grep -qE '^8 ' "$work/z.txt"
check "bias table" grep -q 'gradient bias' "$work/z.txt"
for f in summary.json curves.csv final_loss.csv; do check "wrote $f" [ -s "$work/z/$f" ]; done
check "4 methods x 2 widths" [ "$(wc -l < "$work/z/final_loss.csv")" -eq 9 ]
check "summary keys" grep -q '"bits_to_fp32_loss"' "$work/z/summary.json"
if command -v gnuplot > /dev/null; then
  check "plots" [ -s "$work/z/loss_vs_bits.png" ] && [ -s "$work/z/loss_vs_epoch.png" ]
fi
"$swalp" zipml --n 300 --dim 8 --epochs 2 --bits 4 --loss hinge --l2 0.01 > "$work/h.txt" 2> /dev/null
check "hinge reports refetches" grep -qE '^4 bits: [0-9.]+ bits read, hinge refetches' "$work/h.txt"
"$swalp" zipml --n 400 --dim 10 --epochs 2 --bits 4 > "$work/c.txt" 2> /dev/null
check "compact double sampling reads 6 bits at 4" grep -q '^4 bits: 6.00 bits read' "$work/c.txt"
"$swalp" zipml --n 400 --dim 10 --epochs 2 --bits 4 --storage independent > "$work/i.txt" 2> /dev/null
check "independent copies read 8 bits at 4" grep -q '^4 bits: 8.00 bits read' "$work/i.txt"
check "both storages train alike" [ "$(grep '^4 ' "$work/c.txt" | head -1)" = "$(grep '^4 ' "$work/i.txt" | head -1)" ]
"$swalp" zipml --n 600 --dim 10 --epochs 3 --bits 8 --loss logistic --noise 0 --refetch-bound hoeffding \
  > "$work/l.txt" 2> /dev/null
check "logistic with l2 = 0 on separable data converges" grep -qE '^8 .*[0-9]e-0[0-9] \(' "$work/l.txt"
check "logistic refetches reported" grep -q 'logistic refetches' "$work/l.txt"

"$swalp" bench zipml --n 2048 --dim 64 --epochs 1 --bits 4 --json > "$work/b.json"
check "bench json" grep -q '"speedup_vs_fp32"' "$work/b.json"

echo not-a-directory > "$work/plain-file"
expect_error "bench zipml --out under a file" 1 "$work/plain-file/sub" "$swalp" bench zipml --n 256 --dim 8 --epochs 1 --out "$work/plain-file/sub"
check "nothing timed before the --out error" [ ! -s "$work/out" ]
expect_error "bad loss" 2 "accepted: least-squares, ls-svm, logistic, hinge" "$swalp" zipml --loss l1
expect_error "bad bits" 2 "out of range 1..8" "$swalp" zipml --bits 9
expect_error "bad data" 2 "accepted: synthetic, fashion-mnist, libsvm:FILE" "$swalp" zipml --data cifar
# LIBSVM text: 300 sparse examples (label +1 where feature 1 exceeds feature 2).
awk 'BEGIN { srand(3); for (i = 0; i < 300; i++) { a = rand() - 0.5; b = rand() - 0.5;
  printf "%d 1:%.4f 2:%.4f %s\n", (a > b ? 1 : -1), a, b, (i % 3 ? "4:" rand() : "") } }' > "$work/data.svm"
"$swalp" zipml --data "libsvm:$work/data.svm" --loss hinge --bits 4 --epochs 2 --lr 0.05 > "$work/s.txt" 2> /dev/null
check "libsvm data trains" grep -q 'LIBSVM .*data.svm, n=300, d=4' "$work/s.txt"
printf '1 1:0.5\n-1 2:0.1\n1 1:x\n' > "$work/bad.svm"
expect_error "malformed libsvm line" 2 "bad.svm line 3: bad value in '1:x'" "$swalp" zipml --data "libsvm:$work/bad.svm"
expect_error "libsvm directory" 2 "it is a directory" "$swalp" zipml --data "libsvm:$work"
: > "$work/empty.svm"
expect_error "empty libsvm file" 2 "holds no examples" "$swalp" zipml --data "libsvm:$work/empty.svm"
expect_error "refetch failure NaN" 2 "--refetch-failure" "$swalp" zipml --refetch-failure nan
expect_error "negative refetch failure" 2 "must be > 0" "$swalp" zipml --refetch-failure -0.1
expect_error "Chebyshev range NaN" 2 "--chebyshev-range" "$swalp" zipml --chebyshev-range nan
expect_error "missing libsvm file" 2 "cannot read LIBSVM file" "$swalp" zipml --data "libsvm:$work/none.svm"
expect_error "bad storage" 2 "accepted: compact, independent" "$swalp" zipml --storage packed
expect_error "bad refetch bound" 2 "accepted: worst, hoeffding" "$swalp" zipml --refetch-bound chernoff
expect_error "refetch failure of 1" 2 "must be below 1" "$swalp" zipml --refetch-failure 1
expect_error "Chebyshev range 0" 2 "must be > 0" "$swalp" zipml --chebyshev-range 0
expect_error "bad classes" 2 "two different labels" "$swalp" zipml --data fashion-mnist --classes 3 --positive-class 3

finish
