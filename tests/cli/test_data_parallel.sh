#!/usr/bin/env bash
# Data-parallel training over MPI with 2 ranks: fp32 allreduce against the dt8-compressed
# exchange. The ranks' weights are compared after every step by the run itself (it fails if
# they differ); this test asserts the compressed runs (all-gather and reduce-scatter) send <= 26%
# of the fp32 bytes and end within 1 point of its test error. Usage: test_data_parallel.sh PATH_TO_SWALP
swalp="$1"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
mpi=(mpirun -np 2 --oversubscribe)
[ "$(id -u)" -eq 0 ] && mpi+=(--allow-run-as-root)
run=(--data fashion-mnist --limit-train 6000 --limit-test 2000 --swa-start 2 --threads 1
     --data-parallel)
for codec in fp32 dt8; do
  "${mpi[@]}" "$swalp" train "${run[@]}" --epochs 3 --grad-codec "$codec" --out "$work/$codec" \
    > "$work/$codec.out" 2>&1
  check "$codec run finished" grep -q '"finished": true' "$work/$codec/summary.json"
done
"${mpi[@]}" "$swalp" train "${run[@]}" --epochs 3 --grad-codec dt8 --grad-exchange reduce-scatter \
  --out "$work/rs" > "$work/rs.out" 2>&1
check "reduce-scatter run finished" grep -q '"finished": true' "$work/rs/summary.json"
value() { grep "\"$2\"" "$work/$1/summary.json" | head -1 | sed 's/.*: //; s/,$//'; }
fp32_bytes=$(value fp32 bytes_sent_per_step) dt8_bytes=$(value dt8 bytes_sent_per_step)
fp32_error=$(value fp32 test_error_sgd) dt8_error=$(value dt8 test_error_sgd)
echo "bytes per step: fp32 $fp32_bytes, dt8 $dt8_bytes; test error: fp32 $fp32_error, dt8 $dt8_error"
check "dt8 sends <= 26% of the fp32 bytes" awk -v a="$dt8_bytes" -v b="$fp32_bytes" 'BEGIN { exit !(a <= 0.26 * b && a > 0) }'
check "dt8 within 1 point of fp32" awk -v a="$dt8_error" -v b="$fp32_error" 'BEGIN { d = a - b; exit !(d <= 1 && d >= -1) }'
check "two workers" grep -q '"workers": 2' "$work/dt8/summary.json"
rs_bytes=$(value rs bytes_sent_per_step) rs_error=$(value rs test_error_sgd)
echo "reduce-scatter: bytes per step $rs_bytes, test error $rs_error"
check "reduce-scatter sends <= 26% of the fp32 bytes" awk -v a="$rs_bytes" -v b="$fp32_bytes" 'BEGIN { exit !(a <= 0.26 * b && a > 0) }'
check "reduce-scatter within 1 point of fp32" awk -v a="$rs_error" -v b="$fp32_error" 'BEGIN { d = a - b; exit !(d <= 1 && d >= -1) }'
check "reduce-scatter named in the summary" grep -q '"grad_exchange": "reduce-scatter"' "$work/rs/summary.json"

"${mpi[@]}" "$swalp" train "${run[@]}" --grad-codec dt8 --error-feedback --epochs 1 \
  --out "$work/ef" > /dev/null 2>&1
check "error feedback run" grep -q '"error_feedback": true' "$work/ef/summary.json"
# Error feedback carries residuals from step to step: they are checkpointed per worker, so a
# run stopped and resumed equals the uninterrupted one bit for bit.
ef=(--data fashion-mnist --limit-train 2000 --limit-test 500 --swa-start 1 --threads 1
    --epochs 2 --grad-codec dt8 --error-feedback)
printf 'data_parallel = true\ngrad_codec = "int8"\n' > "$work/dp.toml"
"${mpi[@]}" "$swalp" train --config "$work/dp.toml" "${ef[@]}" --out "$work/ef-whole" > /dev/null 2>&1
check "config keys: flags win over the file" grep -q '"grad_codec": "dt8"' "$work/ef-whole/summary.json"
check "config keys: data_parallel from the file" grep -q '^data_parallel = true$' "$work/ef-whole/config.toml"
"${mpi[@]}" "$swalp" train --config "$work/dp.toml" "${ef[@]}" --stop-after 1 --out "$work/ef-pieces" > /dev/null 2>&1
"${mpi[@]}" "$swalp" train --resume "$work/ef-pieces" > /dev/null 2>&1
check "resumed error-feedback run equals the uninterrupted one" \
  cmp -s <(cut -d, -f1-6 "$work/ef-whole/metrics.csv") <(cut -d, -f1-6 "$work/ef-pieces/metrics.csv")
# Under reduce-scatter each worker also carries what the re-encoded average of its segment lost.
"${mpi[@]}" "$swalp" train "${ef[@]}" --data-parallel --grad-exchange reduce-scatter --out "$work/rs-whole" > /dev/null 2>&1
"${mpi[@]}" "$swalp" train "${ef[@]}" --data-parallel --grad-exchange reduce-scatter --stop-after 1 --out "$work/rs-pieces" > /dev/null 2>&1
"${mpi[@]}" "$swalp" train --resume "$work/rs-pieces" > /dev/null 2>&1
check "reduce-scatter and error feedback finished after a resume" grep -q '"finished": true' "$work/rs-pieces/summary.json"
check "resumed reduce-scatter error-feedback run equals the uninterrupted one" \
  cmp -s <(cut -d, -f1-6 "$work/rs-whole/metrics.csv") <(cut -d, -f1-6 "$work/rs-pieces/metrics.csv")
cp -r "$work/ef-whole" "$work/ef-switch"
sed -i 's/^epochs = 2$/epochs = 3/; s/^grad_exchange = .*/grad_exchange = "reduce-scatter"/' "$work/ef-switch/config.toml"
"${mpi[@]}" "$swalp" train --resume "$work/ef-switch" > /dev/null 2> "$work/err"
check "all-gather residuals resumed under reduce-scatter are refused, naming the key" \
  grep -q 'grad_exchange = "all-gather" in the checkpoint, "reduce-scatter" now' "$work/err"
cp -r "$work/ef-whole" "$work/ef-one"
"$swalp" train --resume "$work/ef-one" > /dev/null 2> "$work/err"
check "resuming 2 workers' residuals in 1 process is an error" grep -q "resume it with mpirun -np 2" "$work/err"

timeout 120 "${mpi[@]}" "$swalp" train --data synthetic --limit-train 1024 --data-parallel \
  --lr-init 1e7 --swa-lr 1e7 --threads 1 --out "$work/diverge" > /dev/null 2> "$work/err"
rc=$?
check "a diverging data-parallel run ends every worker with its message (exit $rc)" \
  bash -c "[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q 'the run diverged' '$work/err'"
"${mpi[@]}" "$swalp" train --data synthetic --data-parallel --grad-codec dt9 --out "$work/x" \
  > /dev/null 2> "$work/err"
check "bad codec is an error naming the codecs" grep -q "accepted: dt8, st8, int8" "$work/err"
"$swalp" train --data synthetic --grad-codec dt8 --out "$work/y" > /dev/null 2> "$work/err"
check "a codec without --data-parallel is an error" grep -q "need --data-parallel" "$work/err"
"${mpi[@]}" "$swalp" train --data synthetic --data-parallel --grad-codec dt8 --grad-exchange ring \
  --out "$work/z" > /dev/null 2> "$work/err"
check "bad exchange is an error naming the accepted ones" grep -q "accepted: all-gather, reduce-scatter" "$work/err"
"${mpi[@]}" "$swalp" train --data synthetic --data-parallel --grad-exchange reduce-scatter \
  --out "$work/z2" > /dev/null 2> "$work/err"
check "reduce-scatter of fp32 gradients is an error" grep -q "needs an 8-bit --grad-codec" "$work/err"

mkdir -p "$work/comm"
"${mpi[@]}" "$swalp" bench comm --max-log2 14 --repetitions 2 --out "$work/comm" > "$work/comm.txt" 2>&1
check "bench comm times the exchanges of 2 workers" grep -q '^2 workers' "$work/comm.txt"
check "bench comm summary has the timings" grep -q '"compressed_s"' "$work/comm/summary.json"
check "bench comm times the reduce-scatter" grep -q '"reduce_scatter_s"' "$work/comm/summary.json"

finish
