#!/usr/bin/env bash
# The main job. Until the training engine lands, it shows the number-format core on real data:
# Fashion-MNIST test images (Debian's dataset-fashion-mnist) and a weight-like Gaussian tensor,
# quantized to every named format, with the error each format costs. With ARGS, runs
# `swalp error-stats ARGS` instead.
source "$(dirname "$0")/scripts/setup.sh"
SWALP_BUILD_TARGET=swalp swalp_build
swalp="$SWALP_BUILD_DIR/cli/swalp"
out="${SWALP_DEMO_OUT:-$SWALP_ROOT/out/demo}"

"$swalp" formats
echo
if [ $# -gt 0 ]; then
  "$swalp" error-stats "$@"
  exit
fi
echo "== Fashion-MNIST images, round to nearest =="
"$swalp" error-stats --data fashion-mnist --rounding nearest --out "$out/images-nearest"
echo
echo "== Fashion-MNIST images, stochastic rounding (note the bias column) =="
"$swalp" error-stats --data fashion-mnist --rounding stochastic --seed 1 --out "$out/images-stochastic"
echo
echo "== Gaussian weight tensor N(0, 0.05^2), round to nearest =="
"$swalp" error-stats --data gaussian:1048576 --rounding nearest --out "$out/weights-nearest"
echo
echo "Results (CSV + summary.json) in $out"
