#!/usr/bin/env bash
# The bias of stochastic rounding with R random bits (`stochastic:R`, R = 1..24): mean
# |q| - |x| over 2^20 N(0, 0.05^2) values for bf16, fp8e4m3 and posit8, against plain
# stochastic, measured with `swalp error-stats`. Writes OUT/stochastic_bits.csv and
# OUT/stochastic_bits.png (gnuplot).
# Usage: scripts/stochastic_bits.sh [OUT]   (default docs/results)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
swalp="${SWALP:-$root/build/cli/swalp}"
out="${1:-$root/docs/results}"
formats=bf16,fp8e4m3,posit8
mkdir -p "$out"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

csv="$scratch/stochastic_bits.csv"
echo "r,format,magnitude_bias,rmse" > "$csv"
for r in $(seq 1 24) plain; do
  rounding="stochastic:$r"
  [ "$r" = plain ] && rounding=stochastic
  "$swalp" error-stats --data gaussian:1048576 --formats "$formats" --rounding "$rounding" \
    --seed 7 --out "$scratch/$r" > /dev/null
  tail -n +2 "$scratch/$r/error_stats.csv" |
    awk -F, -v r="$r" '{ print r "," $1 "," $6 "," $3 }' >> "$csv"
done
cp "$csv" "$out/stochastic_bits.csv"

# -(|q| - |x|) on a log scale against R, with the 2^-R slope through each format's R = 1 point.
for f in ${formats//,/ }; do
  grep ",$f," "$csv" | grep -v '^plain' | awk -F, '{ print $1, -$3 }' > "$scratch/$f.dat"
done
gnuplot <<EOF
set terminal pngcairo size 800,500
set output "$out/stochastic_bits.png"
set title "stochastic:R: bias toward zero, -(mean |q| - |x|), 2^{20} N(0, 0.05^2) values"
set xlabel "R (random bits)"
set ylabel "bias toward zero (log)"
set logscale y
set key top right
stats "$scratch/bf16.dat" every ::0::0 using 2 nooutput
b1 = STATS_max
plot "$scratch/bf16.dat" using 1:(\$2 > 0 ? \$2 : 1/0) with linespoints title "bf16", \
     "$scratch/fp8e4m3.dat" using 1:(\$2 > 0 ? \$2 : 1/0) with linespoints title "fp8e4m3", \
     "$scratch/posit8.dat" using 1:(\$2 > 0 ? \$2 : 1/0) with linespoints title "posit8", \
     b1 * 2**(1 - x) with lines dashtype 2 title "2^-R (through bf16 at R = 1)"
EOF
echo "wrote $out/stochastic_bits.csv and $out/stochastic_bits.png"
