#!/usr/bin/env bash
# The main job: `swalp reproduce` on the embedded default (Fashion-MNIST from Debian's
# dataset-fashion-mnist): FP32-SGD, FP32-SWA, SGD-LP and SWALP with 8-bit block floating point
# and stochastic rounding, plus a word-length sweep. ARGS are passed to `swalp reproduce`.
source "$(dirname "$0")/scripts/setup.sh"
SWALP_BUILD_TARGET=swalp swalp_build
out="${SWALP_DEMO_OUT:-$SWALP_ROOT/out/reproduce}"
has_out=0
for arg in "$@"; do [ "$arg" = "--out" ] && has_out=1; done
if [ "$has_out" -eq 1 ]; then
  "$SWALP_BUILD_DIR/cli/swalp" reproduce "$@"
else
  "$SWALP_BUILD_DIR/cli/swalp" reproduce --out "$out" "$@"
  echo "Results (summary.json, table.md, metrics.csv) in $out"
fi
