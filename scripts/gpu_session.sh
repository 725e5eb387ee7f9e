#!/usr/bin/env bash
# Run on the GPU machine (its image has nvcc, CMake, ninja and pip's CUDA torch, but none of
# the Debian -dev packages; prepare them here with scripts/gpu_deps.sh and carry .gpu-deps):
#   bash scripts/gpu_session.sh [check|compare]     (default: check)
# Builds swalp with the CUDA kernels against the machine's CUDA torch (build-gpu/), then
#   check    the GPU-vs-CPU bit tests, the torch adapter tests, the CUDA bench test (every
#            format x rounding checked against the CPU), bench quantize --device cuda on 2^26
#            values, a short SWALP run on the GPU, bench train of VGG16-LP at batch 128
#   compare  swalp reproduce with VGG16 on Fashion-MNIST (padded to 32x32) on the GPU: FP32
#            SGD, FP32 SWA, SGD-LP and SWALP (bfp:8), one seed
# Everything lands in one folder, packed into $OUT/gpu_results.tar.gz (the device tool brings
# back at most 8 files) or left in out/gpu when OUT is unset; the key lines are printed.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
what="${1:-check}"
results="${OUT:+/tmp/swalp-gpu}"
results="${results:-$root/out/gpu}"
mkdir -p "$results"
deps=/tmp/swalp-deps
if [ -d "$root/.gpu-deps" ]; then
  for f in "$root"/.gpu-deps/*.deb; do dpkg -x "$f" "$deps"; done
  # zlib's development link names the Debian runtime; point it at this machine's.
  zlib="$(ls /lib/x86_64-linux-gnu/libz.so.1* /usr/lib/x86_64-linux-gnu/libz.so.1* 2>/dev/null | head -1)"
  [ -n "$zlib" ] && ln -sf "$zlib" "$deps/usr/lib/x86_64-linux-gnu/libz.so"
fi
export LD_LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
torch_prefix="$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$results/gpu.txt" 2>&1
build="$root/build-gpu"
step() {  # step NAME COMMAND...: runs it with its output in NAME.txt, prints the exit status
  local name="$1"; shift
  "$@" > "$results/$name.txt" 2>&1
  echo "$name: exit $?"
}
step build bash -c "cmake -S '$root' -B '$build' -G Ninja -DCMAKE_BUILD_TYPE=Release -DSWALP_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DSWALP_TORCH=ON -DSWALP_MPI=OFF -DSWALP_BUILD_TESTS=ON \
  -DSWALP_BUILD_BENCH=OFF '-DCMAKE_PREFIX_PATH=$deps/usr;$torch_prefix' &&
  cmake --build '$build' -j $(nproc) --target swalp test_cuda_quantize test_torch_adapter"
swalp="$build/cli/swalp"
if [ ! -x "$swalp" ]; then
  tail -40 "$results/build.txt"
elif [ "$what" = check ]; then
  step test_cuda_quantize "$build/tests/test_cuda_quantize"
  step test_torch_adapter "$build/tests/test_torch_adapter"
  step test_bench_cuda bash "$root/tests/cuda/test_bench_cuda.sh" "$swalp"
  mkdir -p "$results/bench"
  step bench_quantize_cuda "$swalp" bench quantize --device cuda --format all --rounding all \
    --n 67108864 --repetitions 10 --out "$results/bench"
  step train_cuda "$swalp" train --data synthetic --limit-train 4096 --limit-test 1024 --epochs 3 \
    --swa-start 2 --format bfp:8 --device cuda --out "$results/train"
  step bench_train_vgg16 "$swalp" bench train --model vgg16 --batch-size 128 --steps 30 --device cuda
elif [ "$what" = compare ]; then
  data=fashion-mnist
  [ -d "$root/.gpu-deps/fashion-mnist" ] && data="fashion-mnist:$root/.gpu-deps/fashion-mnist"
  step compare_vgg16 "$swalp" reproduce --experiment "$data" --model vgg16 --epochs 10 --seeds 1 \
    --word-lengths "" --device cuda --out "$results/compare"
else
  echo "bad mode '$what'; accepted: check, compare"
fi
for f in "$results"/*.txt; do echo "== $(basename "$f")"; tail -n 6 "$f"; done
[ -n "${OUT:-}" ] && tar czf "$OUT/gpu_results.tar.gz" -C "$results" .
