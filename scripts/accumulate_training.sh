#!/usr/bin/env bash
# SGD-LP and SWALP (bfp:8 at every site) with fp32 (BLAS), bf16 and fp16 accumulation of every
# linear product, nearest and stochastic, on the MLP and Fashion-MNIST. PROTOCOL=reduced (the
# default): first 10000 training and 2000 test images, 6 epochs, averaging after epoch 4;
# PROTOCOL=full: the embedded default of `swalp reproduce` (all 60000 / 10000 images, 10 epochs,
# averaging after epoch 7). Seed 1 unless SEEDS names more. Each configuration is one
# `swalp reproduce` run; the table goes to OUT/table.md (mean ± std over the seeds when there
# are several).
# Usage: [PROTOCOL=full] [SEEDS=1,2,3] [ACCUMULATE="bf16 ..."] scripts/accumulate_training.sh [OUT]
#        (default OUT runs/accumulate-training; ACCUMULATE "fp32" means the BLAS)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
swalp="${SWALP:-$root/build/cli/swalp}"
out="${1:-runs/accumulate-training}"
case "${PROTOCOL:-reduced}" in
  reduced) protocol=(--limit-train 10000 --limit-test 2000 --epochs 6 --swa-start 4) ;;
  full) protocol=() ;;
  *) echo "PROTOCOL=${PROTOCOL}: expected reduced or full" >&2; exit 2 ;;
esac
mkdir -p "$out"
common=(--model mlp "${protocol[@]}" --seeds "${SEEDS:-1}" --no-full-budget --word-lengths ""
        --format bfp:8)
table="$out/table.md"
echo "| accumulation | SGD-FP32 | SGD-LP | SWALP | SWALP (low-precision activations) | seconds |" > "$table"
echo "| --- | --- | --- | --- | --- | --- |" >> "$table"
for acc in ${ACCUMULATE:-fp32 fp16 fp16:rounding=stochastic bf16 bf16:rounding=stochastic}; do
  name="$acc"
  [ "$acc" = fp32 ] && acc=""
  dir="$out/${name//[:=]/_}"
  start=$(date +%s)
  if ! "$swalp" reproduce "${common[@]}" ${acc:+--matmul-accumulate "$acc"} --out "$dir" > "$dir.log" 2>&1; then
    echo "accumulate_training.sh: the run with sums '$name' failed ($dir.log):" >&2
    tail -n 5 "$dir.log" >&2
    exit 1
  fi
  seconds=$(( $(date +%s) - start ))
  python3 - "$dir/summary.json" "$name" "$seconds" >> "$table" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
def cell(key):
    if key not in r:
        return "-"
    spread = f" ± {r[key]['test_error_std']:.2f}" if len(r[key]["per_seed"]) > 1 else ""
    return f"{r[key]['test_error_mean']:.2f}%{spread}"
print(f"| {sys.argv[2]} | {cell('SGD-FP32')} | {cell('SGD-LP')} | {cell('SWALP')} | "
      f"{cell('SWALP (low-precision activations)')} | {sys.argv[3]} |")
PY
done
cat "$table"
