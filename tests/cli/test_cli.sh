#!/usr/bin/env bash
# The `swalp` command line: round trips, outputs, and every error path of DESIGN.md section 5.
# Usage: test_cli.sh PATH_TO_SWALP
swalp="$1"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
one_line_errors=1  # every error here is swalp's own one-line message

# Text round trip with known answers (fp8e4m3: 0.3 -> 0.3125, saturation to 448, NaN kept).
printf '1.0\n0.3\n-2.7\n1e10\nnan\n-inf\n' | "$swalp" quantize --format fp8e4m3 --text > "$work/q.txt"
check "fp8e4m3 text values" diff <(printf '1\n0.3125\n-2.75\n448\nnan\n-448\n') "$work/q.txt"

# Raw float32 round trip through files equals the stdin/stdout path, and is idempotent.
python3 -c "import struct,sys; sys.stdout.buffer.write(struct.pack('<6f', 0.1, -0.2, 3.0, 1e-3, 65519.0, -7.7))" > "$work/in.raw"
"$swalp" quantize --format bf16 --in "$work/in.raw" --out "$work/sub/out.raw"
"$swalp" quantize --format bf16 < "$work/in.raw" > "$work/out2.raw"
check "raw file == raw pipe" cmp -s "$work/sub/out.raw" "$work/out2.raw"
check "raw count kept" [ "$(stat -c %s "$work/sub/out.raw")" -eq 24 ]
"$swalp" quantize --format bf16 --in "$work/sub/out.raw" > "$work/out3.raw"
check "quantizing twice changes nothing" cmp -s "$work/out2.raw" "$work/out3.raw"
check "no temporary file left" [ "$(ls "$work/sub")" = "out.raw" ]

# Stochastic rounding: reproducible for a seed, different for another seed.
seq 1 2000 | sed 's/$/.3/' > "$work/many.txt"
"$swalp" quantize --format fp8e5m2 --rounding stochastic --seed 5 --text --in "$work/many.txt" > "$work/s1"
"$swalp" quantize --format fp8e5m2 --rounding stochastic --seed 5 --text --in "$work/many.txt" > "$work/s2"
"$swalp" quantize --format fp8e5m2 --rounding stochastic --seed 6 --text --in "$work/many.txt" > "$work/s3"
check "same seed, same output" cmp -s "$work/s1" "$work/s2"
differs() { ! cmp -s "$1" "$2"; }
check "other seed, other output" differs "$work/s1" "$work/s3"

# Raw input is streamed in slices for element-wise formats; the random index runs on across
# slices, so the output equals the whole-array result (forced here with --shape).
python3 -c "
import random, struct, sys
random.seed(1)
sys.stdout.buffer.write(struct.pack('<%df' % 5000000, *[random.gauss(0, 1) for _ in range(5000000)]))" > "$work/big.raw"
"$swalp" quantize --format fp8e5m2 --rounding stochastic --seed 9 < "$work/big.raw" > "$work/streamed.raw"
"$swalp" quantize --format fp8e5m2 --rounding stochastic --seed 9 --shape 5000000 < "$work/big.raw" > "$work/whole.raw"
check "streamed == whole" cmp -s "$work/streamed.raw" "$work/whole.raw"
check "streamed count kept" [ "$(stat -c %s "$work/streamed.raw")" -eq 20000000 ]
printf 'abcde' | "$swalp" quantize --format fp16 --out "$work/partial.raw" 2> /dev/null
check "streamed bad length leaves no output file" [ ! -e "$work/partial.raw" ]

# Shapes and scopes: per-row bfp differs from per-tensor bfp on rows of different scale.
printf '1\n0.001\n1000\n3\n' > "$work/rows.txt"
row=$("$swalp" quantize --format bfp:4:row --shape 2,2 --text --in "$work/rows.txt" | tr '\n' ' ')
tensor=$("$swalp" quantize --format bfp:4 --text --in "$work/rows.txt" | tr '\n' ' ')
# Row 2 has E = 9: step 2^(9+2-4) = 128, clamp 7 steps = 896; the tensor scope also loses row 1.
check "row scope result" [ "$row" = "1 0 896 0 " ]
check "tensor scope result" [ "$tensor" = "0 0 896 0 " ]

# swalp formats lists every named format; --json is one object per line.
for name in fp32 bf16 fp16 tf32 fp8e5m2 fp8e4m3 fp6e3m2 fp6e2m3 fp4e2m1; do
  check "formats lists $name" grep -q "^$name " <("$swalp" formats)
done
check "formats --json" [ "$("$swalp" formats --json | grep -c '"max"')" -ge 9 ]

# bench quantize --json has the contract's keys.
"$swalp" bench quantize --format fp16 --n 100000 --repetitions 1 --json > "$work/bench.json"
# --format all --rounding all: one row per benchmarked format and rounding mode, all in summary.json.
"$swalp" bench quantize --format all --rounding all --n 4096 --repetitions 1 --out "$work" > "$work/all.txt"
check "bench quantize sweeps formats x roundings" [ "$(wc -l < "$work/all.txt")" -ge 100 ]
check "the sweep has every rounding" bash -c "for r in nearest stochastic zero up down; do grep -q \"fp8e4m3 \$r on\" '$work/all.txt' || exit 1; done"
check "the sweep's summary lists every row" [ "$(grep -c '"format"' "$work/summary.json")" -eq "$(wc -l < "$work/all.txt")" ]
for key in format rounding device threads n gelem_s copy_gelem_s ratio; do
  check "bench json has $key" grep -q "\"$key\"" "$work/bench.json"
done

# error-stats on a small IDX file: one row per format, summary.json and CSV written.
python3 -c "
import struct, sys
sys.stdout.buffer.write(bytes([0, 0, 8, 2]) + struct.pack('>II', 4, 8) + bytes(range(0, 256, 8)))" > "$work/tiny.idx"
"$swalp" error-stats --data "$work/tiny.idx" --formats fp32,fp8e4m3,bfp:4:row --out "$work/es" > "$work/es.txt"
check "error-stats rows" [ "$(grep -cE '^(fp32|fp8e4m3|bfp:4:row) ' "$work/es.txt")" -eq 3 ]
check "error-stats fp32 is exact" grep -qE '^fp32 +32 +0\.0000e\+00' "$work/es.txt"
check "error-stats summary" grep -q '"sqnr_db"' "$work/es/summary.json"
check "error-stats csv" [ "$(wc -l < "$work/es/error_stats.csv")" -eq 4 ]

# The new formats at the CLI: FNUZ has no -0, e8m0 no zero, nosat overflows to NaN, MX rules.
check "fnuz, e8m0, nosat" [ "$(printf -- '-0.0001\n3\n500\n' | "$swalp" quantize --format fp8e4m3fnuz --text | tr '\n' ' ')" = "0 3 240 " ]
check "e8m0 zero is NaN" [ "$(printf '0\n3\n' | "$swalp" quantize --format e8m0 --text | tr '\n' ' ')" = "nan 4 " ]
check "nosat overflows to NaN" [ "$(printf '500\n' | "$swalp" quantize --format fp8e4m3:nosat --text)" = "nan" ]
check "posit8 never rounds to zero or NaR" [ "$(printf '1e-30\n1e30\n1.07\n' | "$swalp" quantize --format posit8 --text | tr '\n' ' ')" = "5.9604645e-08 16777216 1.125 " ]
check "nvfp4 keeps a block maximum unclipped" [ "$(printf '957\n1\n' | "$swalp" quantize --format nvfp4 --text | head -1)" = "957" ]
check "mx ceil rule keeps 957" [ "$(printf '957\n1\n' | "$swalp" quantize --format mx:fp8e4m3:scale=ceil --text | head -1)" = "960" ]

# Error paths: exit 2, one line naming the problem and the accepted values.
printf '1\n2\n3\n' > "$work/stdin"
expect_error "unknown format" 2 "accepted: fp32, bf16" "$swalp" quantize --format fp7 --text
expect_error "out-of-range field" 2 "E = 9 is out of range 1..8" "$swalp" quantize --format float:9:2 --text
expect_error "bad MX scale rule" 2 "MX scale rule 'round' is not one of floor, ceil, even, rceil" "$swalp" quantize --format mx:fp8e4m3:scale=round --text
expect_error "scale rule before the block" 2 "expected mx:ELEM[:blockN][:scale=RULE]" "$swalp" quantize --format mx:fp8e4m3:scale=ceil:block16 --text
expect_error "nosat of a format without NaN" 2 "fp4e2m1 has no NaN or Inf to overflow to" "$swalp" quantize --format fp4e2m1:nosat --text
expect_error "unknown suffix of a named float" 2 "must be 'nosat'" "$swalp" quantize --format fp8e4m3:sat --text
expect_error "posit beyond float32" 2 "posit:32:3 reaches 2^240, beyond float32; (N-2)*2^ES must be at most 126" "$swalp" quantize --format posit:32:3 --text
expect_error "posit ES out of range" 2 "ES = 5 is out of range 0..4" "$swalp" quantize --format posit:8:5 --text
expect_error "stochastic with 30 bits" 2 "R must be a decimal integer in 1..24" "$swalp" quantize --format bf16 --rounding stochastic:30 --text
check "stochastic:1 rounds 1 + 0.3 ulp down" [ "$(printf '1.0023\n' | "$swalp" quantize --format bf16 --rounding stochastic:1 --text)" = "1" ]
expect_error "nvfp4 with a row scope" 2 "is not blockN" "$swalp" quantize --format nvfp4:row --text
expect_error "bad rounding" 2 "accepted: nearest, stochastic, zero, up, down" "$swalp" quantize --format fp16 --rounding even --text
expect_error "shape mismatch" 2 "has 4 elements but the data has 3" "$swalp" quantize --format fp16 --shape 2,2 --text
expect_error "bad shape" 2 "'x' is not a non-negative integer" "$swalp" quantize --format fp16 --shape 3,x --text
expect_error "row scope needs 2-D" 2 "needs a shape with 2 or more dimensions" "$swalp" quantize --format bfp:8:row --text
expect_error "missing --format" 2 "--format is required" "$swalp" quantize --text
expect_error "missing input file" 2 "cannot open input file" "$swalp" quantize --format fp16 --in "$work/none"
expect_error "unknown subcommand" 2 "subcommands: formats, quantize" "$swalp" frobnicate
expect_error "unknown subcommand named" 2 "unknown subcommand 'frobnicate'" "$swalp" frobnicate
expect_error "unknown nested subcommand" 2 "unknown subcommand 'frob' (subcommands: zipml, matmul, quantize, train, comm; see swalp bench --help)" "$swalp" bench frob
expect_error "a command's bad option points at its help" 2 "(see swalp bench quantize --help)" "$swalp" bench quantize --format
expect_error "cuda without cuda" 2 "accepted: cpu" "$swalp" bench quantize --format fp16 --n 10 --device cuda
echo not-a-directory > "$work/plain-file"
expect_error "bench quantize --out under a file" 1 "$work/plain-file/sub" "$swalp" bench quantize --format fp16 --n 10 --out "$work/plain-file/sub"
check "nothing timed before the --out error" [ ! -s "$work/out" ]
expect_error "bad error-stats data" 2 "gaussian:N needs N a positive multiple of 256" "$swalp" error-stats --data gaussian:100
expect_error "corrupt data file" 2 "not an IDX file" "$swalp" error-stats --data "$work/in.raw"
expect_error "bad device" 2 "accepted: cpu, cuda" "$swalp" bench quantize --format fp16 --n 10 --device tpu
printf 'abc' > "$work/stdin"
expect_error "raw byte count" 2 "not a multiple of 4" "$swalp" quantize --format fp16
expect_error "text not a number" 2 "line 1: 'abc' is not a number" "$swalp" quantize --format fp16 --text
: > "$work/stdin"
expect_error "empty input" 2 "input is empty" "$swalp" quantize --format fp16
printf '1\n1e39\ninf\n' > "$work/stdin"
expect_error "Inf in a bfp scope" 2 "cannot encode Inf" "$swalp" quantize --format bfp:8 --text
printf '1\n' > "$work/stdin"
mkdir -p "$work/ro" && chmod 500 "$work/ro"
if [ "$(id -u)" -ne 0 ]; then
  expect_error "unwritable output" 1 "cannot write" "$swalp" quantize --format fp16 --text --out "$work/ro/x"
fi
expect_error "output path under a file" 1 "cannot" "$swalp" quantize --format fp16 --text --out "$work/in.raw/x"

finish
