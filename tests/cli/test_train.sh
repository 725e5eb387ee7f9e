#!/usr/bin/env bash
# `swalp train`: TOML config and flags, the run directory, and --resume bit for bit: a run
# stopped after each epoch and resumed twice ends with the same metrics (losses to 17 digits)
# as an uninterrupted one. Usage: test_train.sh PATH_TO_SWALP
swalp="$1"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cat > "$work/run.toml" <<'TOML'
model = "mlp"
epochs = 3
swa_start = 1
swa_every = 5
data = "fashion-mnist"
limit_train = 3000
limit_test = 500
[quant]
weight = "bfp:8"
grad = "bfp:8"
momentum = "bfp:8"
accumulator = "bfp:8"
activation = "bfp:8"
error = "bfp:8"
rounding = "stochastic"
TOML
"$swalp" train --config "$work/run.toml" --seed 7 --out "$work/whole" 2> /dev/null > /dev/null
check "uninterrupted run" [ -s "$work/whole/metrics.csv" ]
for f in config.toml checkpoint.pt summary.json; do check "run dir has $f" [ -s "$work/whole/$f" ]; done
check "flag overrides config" grep -q '^seed = 7$' "$work/whole/config.toml"
check "config value kept" grep -q '^limit_train = 3000$' "$work/whole/config.toml"
check "summary finished" grep -q '"finished": true' "$work/whole/summary.json"

"$swalp" train --config "$work/run.toml" --seed 7 --out "$work/pieces" --stop-after 1 2> /dev/null > /dev/null
check "stopped after 1 epoch" grep -q '"epochs_done": 1' "$work/pieces/summary.json"
"$swalp" train --resume "$work/pieces" --stop-after 1 2> /dev/null > /dev/null
"$swalp" train --resume "$work/pieces" 2> /dev/null > /dev/null
cut -d, -f1-6 "$work/whole/metrics.csv" > "$work/a"
cut -d, -f1-6 "$work/pieces/metrics.csv" > "$work/b"
check "resumed run equals the uninterrupted one" cmp -s "$work/a" "$work/b"
check "three epochs recorded" [ "$(wc -l < "$work/b")" -eq 4 ]

# SIGKILL once the first checkpoint exists (mid-epoch 2 or later), then resume: same metrics.
"$swalp" train --config "$work/run.toml" --seed 7 --out "$work/killed" 2> /dev/null > /dev/null &
pid=$!
for _ in $(seq 600); do [ -s "$work/killed/checkpoint.pt" ] && break; sleep 0.05; done
kill -9 "$pid" 2> /dev/null; wait "$pid" 2> /dev/null
check "the checkpoint survived the kill" [ -s "$work/killed/checkpoint.pt" ]
"$swalp" train --resume "$work/killed" 2> /dev/null > /dev/null
cut -d, -f1-6 "$work/killed/metrics.csv" > "$work/c"
check "killed and resumed run equals the uninterrupted one" cmp -s "$work/a" "$work/c"

printf 'modle = "mlp"\n' > "$work/typo.toml"
expect_error "unknown key, did you mean" 2 "did you mean 'model'" "$swalp" train --config "$work/typo.toml" --out "$work/x"
printf 'epochs = "ten"\n' > "$work/type.toml"
expect_error "wrong type" 2 "'epochs' must be an integer" "$swalp" train --config "$work/type.toml" --out "$work/x"
printf 'epochs = [\n' > "$work/broken.toml"
expect_error "broken TOML" 2 "cannot read config" "$swalp" train --config "$work/broken.toml" --out "$work/x"
expect_error "resume with a setting" 2 "cannot be combined" "$swalp" train --resume "$work/whole" --epochs 9
expect_error "resume a non-run" 2 "not a run directory" "$swalp" train --resume "$work"
expect_error "new run over an old one" 2 "already holds a run" "$swalp" train --config "$work/run.toml" --out "$work/whole"
expect_error "no output" 2 "give --out DIR" "$swalp" train --config "$work/run.toml"
cp -r "$work/whole" "$work/corrupt" && head -c 100 "$work/whole/checkpoint.pt" > "$work/corrupt/checkpoint.pt"
expect_error "corrupt checkpoint" 2 "corrupt or not a swalp checkpoint" "$swalp" train --resume "$work/corrupt"
# One flipped byte inside the stored weights: the checksum catches what the zip layout does not.
cp -r "$work/whole" "$work/flipped"
python3 - "$work/flipped/checkpoint.pt" <<'PY'
import sys, zipfile
path = sys.argv[1]
with zipfile.ZipFile(path) as z:  # the largest record: the first layer's weights
    info = max(z.infolist(), key=lambda i: i.file_size)
    offset = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
data = bytearray(open(path, "rb").read())
data[offset + info.file_size // 2] ^= 0x10
open(path, "wb").write(data)
PY
expect_error "flipped byte in a checkpoint" 2 "its checksum does not match its contents" "$swalp" train --resume "$work/flipped"
check "the corrupt checkpoint is left as it was" [ -s "$work/flipped/checkpoint.pt" ]
# A checkpoint of another format version (the version entry rewritten, zip CRCs and the swalp
# trailer's checksum kept valid).
cp -r "$work/whole" "$work/foreign"
python3 - "$work/foreign/checkpoint.pt" 99 <<'PY'
import sys, zipfile, struct, zlib
path, value = sys.argv[1], int(sys.argv[2])
data = bytearray(open(path, 'rb').read())
info = [i for i in zipfile.ZipFile(path).infolist() if i.filename.endswith('/data/0')][0]
h = info.header_offset
name_len, extra_len = struct.unpack('<HH', data[h + 26:h + 30])  # the local header's own lengths
off = h + 30 + name_len + extra_len
assert struct.unpack('<q', data[off:off + 8])[0] == 4, 'entry 0 is not the version'
data[off:off + 8] = struct.pack('<q', value)
crc = struct.pack('<I', zlib.crc32(bytes(data[off:off + 8])))
data[h + 14:h + 18] = crc
cd = data.find(b'PK\x01\x02')
while cd != -1:
    n = struct.unpack('<H', data[cd + 28:cd + 30])[0]
    if bytes(data[cd + 46:cd + 46 + n]).decode() == info.filename:
        data[cd + 16:cd + 20] = crc
    cd = data.find(b'PK\x01\x02', cd + 4)
# The swalp trailer's checksum covers the archive: recompute it.
archive = len(data) - 24
data[archive + 16:archive + 20] = struct.pack('<I', zlib.crc32(bytes(data[:archive])))
open(path, 'wb').write(data)
PY
expect_error "checkpoint of another version" 2 "has format version 99; accepted: 4" "$swalp" train --resume "$work/foreign"
expect_error "bad format" 2 "accepted: fp32" "$swalp" train --data synthetic --format bfp:99 --out "$work/y"

# --format sets every quantity except those given on their own; the average has its own format.
"$swalp" train --data synthetic --limit-train 256 --limit-test 64 --epochs 2 --swa-start 1 \
  --format bfp:8 --weight-format fixed:8:6 --swa-format bfp:6 --eval fp32 --out "$work/mixed" \
  2> "$work/mixed.err" > /dev/null
check "per-quantity flag wins over --format" grep -q '^weight = "fixed:8:6"$' "$work/mixed/config.toml"
check "--format fills the rest" grep -q '^error = "bfp:8"$' "$work/mixed/config.toml"
check "average format recorded" grep -q '^swa = "bfp:6"$' "$work/mixed/config.toml"
check "eval mode recorded" grep -q '^eval = "fp32"$' "$work/mixed/config.toml"
check "plain log without a terminal" bash -c "! grep -q \$'\r' '$work/mixed.err' && grep -q 'epoch   2' '$work/mixed.err'"
expect_error "bad schedule" 2 "accepted: swa, sgd" "$swalp" train --data synthetic --schedule cosine --out "$work/z"
expect_error "bad activation scope" 2 "accepted: tensor, sample" "$swalp" train --data synthetic --activation-scope row --out "$work/z"
expect_error "negative limit" 2 "bad example limit -1" "$swalp" train --data synthetic --limit-test -1 --out "$work/z"
expect_error "momentum 1" 2 "accepted: 0 <= momentum < 1" "$swalp" train --data synthetic --momentum 1 --out "$work/z"
expect_error "bad eval" 2 "accepted: fp32, quantized, both" "$swalp" train --data synthetic --eval float --out "$work/z"
expect_error "bad average format" 2 "accepted:" "$swalp" train --data synthetic --swa-format bfp:0 --out "$work/z"
# Devices: a bad spelling is refused; auto is cpu without a GPU and then gives cpu's bits; cuda
# trains a short SWALP run where libtorch sees a GPU, and is refused with its reason elsewhere.
expect_error "bad device" 2 "accepted: cpu, cuda, auto" "$swalp" train --data synthetic --device tpu --out "$work/z"
short=(--data synthetic --limit-train 512 --limit-test 256 --epochs 2 --swa-start 1 --format bfp:8)
"$swalp" train "${short[@]}" --out "$work/on-cpu" > /dev/null 2>&1
"$swalp" train "${short[@]}" --device auto --out "$work/on-auto" > /dev/null 2>&1
check "device recorded" grep -q '^device = "auto"$' "$work/on-auto/config.toml"
if grep -q '"device": "cpu"' "$work/on-auto/summary.json"; then
  check "auto without a GPU trains on the cpu, bit for bit" \
    cmp -s <(grep state_checksum "$work/on-cpu/summary.json") <(grep state_checksum "$work/on-auto/summary.json")
  expect_error "cuda without a GPU" 2 "sees no GPU" "$swalp" train "${short[@]}" --device cuda --out "$work/z"
else
  "$swalp" train "${short[@]}" --device cuda --out "$work/on-cuda" > /dev/null 2>&1
  check "SWALP trains on the GPU" grep -q '"device": "cuda' "$work/on-cuda/summary.json"
  check "the GPU run finished" grep -q '"finished": true' "$work/on-cuda/summary.json"
fi

# On a terminal, a progress bar (util-linux `script` gives the run a pseudo-terminal).
if command -v script > /dev/null; then
  script -qec "'$swalp' train --data synthetic --limit-train 512 --limit-test 64 --epochs 1 --swa-start 1 --out '$work/tty'" "$work/tty.log" > /dev/null
  check "progress bar on a terminal" grep -q 'epoch 1/1 \[##############################\] 100%' "$work/tty.log"
else
  echo "skipped: progress bar test (no util-linux script)"
fi

finish
