#!/usr/bin/env bash
# What a hostile user tried (docs/errors.md, "Reliability"): writing onto links, FIFOs and
# devices, numbers CLI parsers misread, two runs in one directory, a resume under other
# settings, file-size and address-space limits, empty and forged data files, non-finite options,
# huge sizes, binary text, and the speed of `quantize` in a pipe. Every case failed before the
# fixes this script guards. Usage: test_reliability.sh PATH_TO_SWALP
swalp="$(realpath "$1")"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$work" || exit 1

# --- Where results are written -------------------------------------------------------------
echo 1.1 | "$swalp" quantize --format bf16 --text > target.txt
ln -s target.txt link.txt
echo 2.3 | "$swalp" quantize --format bf16 --text --out link.txt
check "--out onto a symlink keeps the link" [ -L link.txt ]
check "--out onto a symlink writes its target" [ "$(cat target.txt)" = 2.296875 ]

mkfifo fifo
timeout 20 cat fifo > from_fifo &
reader=$!
echo 3.3 | timeout 20 "$swalp" quantize --format bf16 --text --out fifo
wait "$reader"
check "--out onto a FIFO feeds its reader" [ "$(cat from_fifo)" = 3.296875 ]
check "--out onto a FIFO leaves a FIFO" [ -p fifo ]

if [ -w /dev/null ]; then
  echo 1 | "$swalp" quantize --format bf16 --text --out /dev/null
  check "--out /dev/null leaves the device" [ -c /dev/null ]
fi
mkdir adir
expect_error "--out a directory" 2 "it is a directory" "$swalp" quantize --format bf16 --in target.txt --text --out adir
expect_error "--in a directory" 2 "it is a directory" "$swalp" quantize --format bf16 --in adir

# A file-size limit: EFBIG reported (SIGXFSZ is ignored by swalp itself), no temporary left.
head -c 400000 /dev/zero > big.raw
expect_error "ulimit -f: File too large" 1 "File too large" \
  bash -c "ulimit -f 100; exec '$swalp' quantize --format bf16 --in big.raw --out limited.raw"
check "ulimit -f: no temporary left" bash -c "! compgen -G 'limited.raw*' > /dev/null"

# --- Numbers ---------------------------------------------------------------------------------
a=$(printf '0.3\n0.7\n' | "$swalp" quantize --format fp8e4m3 --rounding stochastic --text --seed 010)
b=$(printf '0.3\n0.7\n' | "$swalp" quantize --format fp8e4m3 --rounding stochastic --text --seed 10)
check "--seed 010 is ten, not octal eight" [ "$a" = "$b" ]
for bad in 0x10 -1 18446744073709551616 100000000000000000000000 "" 1e3 " 5"; do
  expect_error "--seed '$bad' refused" 2 "is not a non-negative decimal integer" \
    bash -c "echo 1 | '$swalp' quantize --format bf16 --text --seed '$bad'"
done
expect_error "non-finite real option" 2 "is not a finite decimal number" "$swalp" zipml --noise nan
expect_error "theory --l2 nan" 2 "is not a finite decimal number" "$swalp" theory strongly-convex --l2 nan
expect_error "bench comm --link-gbps 0" 2 "'0' must be > 0" "$swalp" bench comm --link-gbps 0
expect_error "codecs --n 0" 2 "--n: Value 0 not in range" "$swalp" codecs --n 0
echo 1 | "$swalp" quantize --format bfp:8:block1048576 --text > /dev/null
check "bfp:8:block1048576 (the top of the documented range) accepted" [ $? -eq 0 ]
expect_error "block beyond the range" 2 "block size = 1048577 is out of range 1..1048576" \
  bash -c "echo 1 | '$swalp' quantize --format bfp:8:block1048577 --text"

# --- Names in any case, validation before output -----------------------------------------------
check "bench quantize --format ALL" bash -c "'$swalp' bench quantize --format ALL --n 256 --repetitions 1 | grep -q '^bf16 nearest'"
check "codecs --codecs DT8 --data NORMAL" bash -c "'$swalp' codecs --codecs DT8 --data NORMAL --n 256 | grep -q '^normal *dt8 '"
"$swalp" codecs --data foo > stdout.txt 2> /dev/null
check "codecs --data foo: refused before the table's header" [ ! -s stdout.txt ]
head -c 4097 /dev/zero > odd.raw
"$swalp" quantize --format bf16 --in odd.raw > stdout.txt 2> /dev/null
check "raw file of 4097 bytes: exit 2 and nothing on stdout" bash -c "[ $? -eq 2 ] && [ ! -s stdout.txt ]"
printf '1\n\x00\x01abc\n' > binary.txt
expect_error "binary text shown escaped" 2 "line 2: '\\x00\\x01abc' is not a number" "$swalp" quantize --format bf16 --text --in binary.txt

# --- Sizes beyond memory (the optimized build: AddressSanitizer's allocator reports a 4 TiB
# request itself instead of letting operator new throw) ------------------------------------
if [ "${SWALP_SANITIZED:-0}" != 1 ]; then
  expect_error "huge gaussian:N" 1 "out of memory: 1099511627776 x 4 bytes for gaussian:N values" \
    "$swalp" error-stats --data gaussian:1099511627776 --formats bf16
fi

# --- Data files --------------------------------------------------------------------------------
python3 - "$work" <<'PY'
import gzip, struct, sys
d = sys.argv[1]
def idx(type_code, dims, payload=b''):
    return bytes([0, 0, type_code, len(dims)]) + b''.join(struct.pack('>I', x) for x in dims) + payload
import os
os.makedirs(f'{d}/empty', exist_ok=True)
for split in ('train', 't10k'):
    open(f'{d}/empty/{split}-images-idx3-ubyte.gz', 'wb').write(gzip.compress(idx(8, [0, 28, 28])))
    open(f'{d}/empty/{split}-labels-idx1-ubyte.gz', 'wb').write(gzip.compress(idx(8, [0])))
# 2^32-1 x 2^32-1 x 2^32-1 x 2^32-1 wraps a 64-bit product: a forged header.
open(f'{d}/forged.idx', 'wb').write(idx(8, [0xFFFFFFFF] * 4, bytes(16)))
open(f'{d}/float.idx', 'wb').write(idx(0x0D, [1], bytes(4)))
open(f'{d}/noitems.idx', 'wb').write(idx(8, [0, 4]))
PY
expect_error "error-stats on zero items" 2 "holds no values" "$swalp" error-stats --data noitems.idx
expect_error "IDX dimensions overflowing 64 bits" 2 "dimensions' product exceeds" "$swalp" error-stats --data forged.idx
expect_error "IDX type printed in hex" 2 "has IDX type 0x0D" "$swalp" error-stats --data float.idx

if "$swalp" train --help > /dev/null 2>&1 && ! "$swalp" train --help | grep -q "needs a build"; then
  run=(--model logreg --data synthetic --limit-train 256 --limit-test 64 --threads 1)
  expect_error "zero images" 2 "holds no images" "$swalp" train --data "fashion-mnist:$work/empty" --out empty-run

  # Seeds must read back from config.toml.
  expect_error "train --seed 2^63" 2 "accepted: 0 .. 9223372036854775807" "$swalp" train "${run[@]}" --seed 9223372036854775808 --out s1
  "$swalp" train "${run[@]}" --epochs 1 --seed 9223372036854775807 --out s2 > /dev/null 2>&1
  check "largest seed: config.toml reads back" bash -c "'$swalp' train --resume s2 > /dev/null 2>&1"
  "$swalp" train "${run[@]}" --epochs 1 --seed 010 --out s3 > /dev/null 2>&1
  check "--seed 010 stored as 10" grep -q '^seed = 10$' s3/config.toml

  # Options and config values validated before any work.
  printf 'momentum = nan\n' > nan.toml
  expect_error "config momentum = nan" 2 "'momentum' must be a finite number" "$swalp" train --config nan.toml --out n1
  expect_error "--config DIR" 2 "it is a directory" "$swalp" train --config adir --out n2
  expect_error "momentum 2" 2 "accepted: 0 <= momentum < 1" "$swalp" train "${run[@]}" --momentum 2 --out n3
  expect_error "negative weight decay" 2 "accepted: 0 <= weight decay <= 1" "$swalp" train "${run[@]}" --weight-decay -1 --out n4
  expect_error "swa_start -1" 2 "swa_start must be >= 0" "$swalp" train "${run[@]}" --swa-start -1 --out n6
  expect_error "negative limit" 2 "bad example limit -5" "$swalp" train --model logreg --data synthetic --limit-train -5 --out n5
  check "refused runs wrote nothing" bash -c "[ ! -e n1 ] && [ ! -e n3 ] && [ ! -e n4 ] && [ ! -e n5 ]"

  # Two runs into one directory: the second is refused while the first holds it.
  "$swalp" train --model mlp --data synthetic --limit-train 20000 --limit-test 64 --threads 1 \
    --epochs 30 --out busy > /dev/null 2>&1 &
  first=$!
  for _ in $(seq 400); do [ -s busy/config.toml ] && break; sleep 0.05; done
  expect_error "second train into a busy directory" 2 "is in use by another swalp process" \
    "$swalp" train "${run[@]}" --out busy
  expect_error "resume of a busy directory" 2 "is in use by another swalp process" \
    "$swalp" train --resume busy
  kill "$first"; wait "$first" 2> /dev/null

  # A checkpoint resumed under edited settings: refused, naming the key.
  "$swalp" train "${run[@]}" --epochs 3 --stop-after 1 --out edited > /dev/null 2>&1
  sed -i 's/^lr_init = .*/lr_init = 0.5/' edited/config.toml
  expect_error "resume under other settings" 2 "lr_init = 0.050000000000000003 in the checkpoint, 0.5 now" \
    "$swalp" train --resume edited
  check "the refused resume kept the run" [ "$(wc -l < edited/metrics.csv)" -eq 2 ]

  # An address-space limit: a clear error instead of OpenBLAS retrying forever.
  expect_error "ulimit -v: no hang" 1 "out of memory" \
    timeout 120 bash -c "ulimit -v 800000; exec '$swalp' train ${run[*]} --epochs 1 --out vlimit"
fi

# --- quantize in a pipe: at most twice the time of cat (best of 3 each, 200 MB; 50 ms for the
# measurement's own shells). Timed in the optimized build only.
[ "${SWALP_SANITIZED:-0}" = 1 ] && { finish; exit; }
head -c 200000000 /dev/urandom > pipe.raw
best() {  # best NAME COMMAND: the fastest of three runs, in milliseconds
  local fastest=999999 start took
  for _ in 1 2 3; do
    start=$(date +%s%N); bash -c "$1"; took=$(( ($(date +%s%N) - start) / 1000000 ))
    [ "$took" -lt "$fastest" ] && fastest=$took
  done
  echo "$fastest"
}
cat_ms=$(best "cat pipe.raw | cat | cat > /dev/null")
swalp_ms=$(best "cat pipe.raw | '$swalp' quantize --format bf16 | cat > /dev/null")
echo "200 MB through a pipe: cat ${cat_ms} ms, swalp quantize --format bf16 ${swalp_ms} ms"
check "quantize in a pipe within 2x of cat (${swalp_ms} vs ${cat_ms} ms)" [ "$swalp_ms" -le $((2 * cat_ms + 50)) ]
cat pipe.raw | "$swalp" quantize --format bf16 > piped.raw
"$swalp" quantize --format bf16 --in pipe.raw --out whole.raw
check "piped output equals the whole-file output" cmp -s piped.raw whole.raw
rm -f pipe.raw piped.raw whole.raw
finish
