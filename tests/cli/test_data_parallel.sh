#!/usr/bin/env bash
# Data-parallel training over MPI with 2 ranks: fp32 allreduce against the dt8-compressed
# exchange. The ranks' weights are compared after every step by the run itself (it fails if
# they differ); this test asserts the compressed run sends <= 26% of the fp32 bytes and ends
# within 1 point of its test error. Usage: test_data_parallel.sh PATH_TO_SWALP
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
value() { grep "\"$2\"" "$work/$1/summary.json" | head -1 | sed 's/.*: //; s/,$//'; }
fp32_bytes=$(value fp32 bytes_sent_per_step) dt8_bytes=$(value dt8 bytes_sent_per_step)
fp32_error=$(value fp32 test_error_sgd) dt8_error=$(value dt8 test_error_sgd)
echo "bytes per step: fp32 $fp32_bytes, dt8 $dt8_bytes; test error: fp32 $fp32_error, dt8 $dt8_error"
check "dt8 sends <= 26% of the fp32 bytes" awk -v a="$dt8_bytes" -v b="$fp32_bytes" 'BEGIN { exit !(a <= 0.26 * b && a > 0) }'
check "dt8 within 1 point of fp32" awk -v a="$dt8_error" -v b="$fp32_error" 'BEGIN { d = a - b; exit !(d <= 1 && d >= -1) }'
check "two workers" grep -q '"workers": 2' "$work/dt8/summary.json"

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
cp -r "$work/ef-whole" "$work/ef-one"
sed -i 's/^epochs = 2$/epochs = 3/' "$work/ef-one/config.toml"
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

mkdir -p "$work/comm"
"${mpi[@]}" "$swalp" bench comm --max-log2 14 --repetitions 2 --out "$work/comm" > "$work/comm.txt" 2>&1
check "bench comm times the exchanges of 2 workers" grep -q '^2 workers' "$work/comm.txt"
check "bench comm summary has the timings" grep -q '"compressed_s"' "$work/comm/summary.json"

finish
