#!/usr/bin/env bash
# The rows of docs/errors.md that no other test covers: NaN and Inf through every format, wrong
# image sizes, an unwritable run directory, a full disk, a run that diverges after its first
# checkpoint, and (with MPI) a killed worker. Each row: the exit code, the message, and that
# nothing written before is lost. Usage: test_errors.sh PATH_TO_SWALP
swalp="$1"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# NaN stays NaN in every format; Inf saturates, stays Inf or (shared-scale codes) is an error.
for f in fp32 bf16 fp16 tf32 fp8e5m2 fp8e4m3 fp6e3m2 fp6e2m3 fp4e2m1 float:4:3 float:4:3:sat \
         fixed:8:6 bfp:8 mx:fp8e4m3 mx:int8 int:8 dt8; do
  out=$(printf 'nan\n1\n' | "$swalp" quantize --format "$f" --text 2> "$work/err")
  case "$f" in
    bfp:8|int:8|dt8) check "$f: NaN makes its scope NaN" [ "$out" = $'nan\nnan' ] ;;
    mx:*) check "$f: NaN makes its block NaN" [ "$out" = $'nan\nnan' ] ;;
    *) check "$f: NaN stays NaN" [ "$(echo "$out" | head -1)" = nan ] ;;
  esac
  out=$(printf 'inf\n-inf\n1\n' | "$swalp" quantize --format "$f" --text 2> "$work/err")
  rc=$?
  case "$f" in
    bfp:8|int:8|dt8)
      check "$f: Inf is an error naming it" bash -c "[ $rc -eq 2 ] && grep -q 'cannot encode Inf' '$work/err'" ;;
    mx:*) check "$f: Inf makes its block NaN" [ "$(echo "$out" | head -1)" = nan ] ;;
    fp8e4m3|fp6*|fp4*|float:4:3:sat|fixed:8:6)
      check "$f: Inf saturates" bash -c "[ $rc -eq 0 ] && [ '$(echo "$out" | head -1)' != inf ] && [ '$(echo "$out" | head -1)' != nan ]" ;;
    *) check "$f: Inf stays Inf" [ "$(echo "$out" | head -2 | tr '\n' ' ')" = "inf -inf " ] ;;
  esac
done

# Fashion-MNIST files holding 32x32 images: refused before anything is written.
mkdir -p "$work/fm32"
python3 - "$work/fm32" <<'PY'
import gzip, struct, sys
d = sys.argv[1]
def idx(dims, count):
    return struct.pack('>I', 0x0800 + len(dims)) + b''.join(struct.pack('>I', x) for x in dims) + bytes(count)
for split, n in (('train', 4), ('t10k', 2)):
    open(f'{d}/{split}-images-idx3-ubyte.gz', 'wb').write(gzip.compress(idx([n, 32, 32], n * 1024)))
    open(f'{d}/{split}-labels-idx1-ubyte.gz', 'wb').write(gzip.compress(idx([n], n)))
PY
expect_error "wrong image size" 2 "does not hold 28x28 images" "$swalp" train --data "fashion-mnist:$work/fm32" --out "$work/fm32run"
check "nothing written for a refused run" [ ! -e "$work/fm32run" ]
printf 'not gzip, not IDX' > "$work/fm32/train-images-idx3-ubyte.gz"
expect_error "corrupt data file" 2 "not an IDX file" "$swalp" train --data "fashion-mnist:$work/fm32" --out "$work/fm32run"
expect_error "missing data directory" 2 "cannot open data file" "$swalp" train --data "fashion-mnist:$work/none" --out "$work/x"

run=(--model logreg --data synthetic --limit-train 256 --limit-test 64 --threads 1)
touch "$work/a-file"
expect_error "unwritable run directory" 1 "cannot create directory" "$swalp" train "${run[@]}" --out "$work/a-file/run"

# A full disk (a file-size limit: swalp ignores SIGXFSZ, so writes fail with EFBIG): the
# checkpoint write fails with a clear error and the previous checkpoint stays as it was.
"$swalp" train "${run[@]}" --epochs 3 --stop-after 1 --out "$work/disk" > /dev/null 2>&1
before=$(md5sum < "$work/disk/checkpoint.pt")
expect_error "full disk" 1 "File too large" bash -c "ulimit -f 60; exec '$swalp' train --resume '$work/disk'"
check "full disk: the previous checkpoint is intact" [ "$(md5sum < "$work/disk/checkpoint.pt")" = "$before" ]
check "full disk: no temporary left behind" bash -c "! compgen -G '$work/disk/*.tmp*' > /dev/null"
"$swalp" train --resume "$work/disk" > /dev/null 2>&1
check "full disk: the run resumes once there is room" grep -q '"finished": true' "$work/disk/summary.json"

# A learning rate that diverges after the first epoch (the SWA rate): a clear stop, and the
# checkpoint of the last good epoch is kept for a resume with other settings.
expect_error "diverging learning rate" 1 "the run diverged; lower the learning rate" \
  "$swalp" train --model mlp --data synthetic --limit-train 512 --limit-test 64 --threads 1 \
  --epochs 3 --swa-start 1 --lr-init 0.01 --swa-lr 1e7 --out "$work/nan"
check "diverged run keeps the metrics of its good epoch" grep -q "^1," "$work/nan/metrics.csv"
check "diverged run keeps its last checkpoint" [ -s "$work/nan/checkpoint.pt" ]

# A worker killed in the middle of data-parallel training: the job ends with an error naming
# the lost worker instead of the survivors waiting forever.
if command -v mpirun > /dev/null && "$swalp" train --help | grep -q -- --data-parallel; then
  mpi=(mpirun -np 2 --oversubscribe)
  [ "$(id -u)" -eq 0 ] && mpi+=(--allow-run-as-root)
  timeout 120 "${mpi[@]}" "$swalp" train --model mlp --data synthetic --limit-train 20000 \
    --epochs 50 --threads 1 --data-parallel --grad-codec dt8 --out "$work/dp-fail" \
    > /dev/null 2> "$work/dp.err" &
  job=$!
  for _ in $(seq 600); do [ -e "$work/dp-fail/config.toml" ] && break; sleep 0.05; done
  sleep 1
  victim=$(pgrep -n -f "swalp train .*$work/dp-fail")
  start=$(date +%s)
  kill -9 "$victim"
  wait "$job"
  rc=$?
  took=$(( $(date +%s) - start ))
  check "killed worker: the job fails (exit $rc)" bash -c "[ $rc -ne 0 ] && [ $rc -ne 124 ]"
  check "killed worker: no hang (${took} s)" [ "$took" -lt 60 ]
  check "killed worker: mpirun names it" grep -qi "signal 9\|killed" "$work/dp.err"
fi
finish
