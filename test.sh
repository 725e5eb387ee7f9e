#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, and runs every test through ctest,
# including the ml_dtypes oracle from a virtual environment inside the build folder.
source "$(dirname "$0")/scripts/setup.sh"
# Elapsed time after each phase, so a slow CI run shows where its time went.
phase_done() { echo "swalp test.sh: $1 done at ${SECONDS}s" >&2; }
phase_done "setup"

venv="$SWALP_BUILD_DIR/venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import ml_dtypes" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check ml_dtypes
fi

# Every C++ file as the committed .clang-format lays it out (clang-format -i FILE fixes one).
unformatted=()
for f in $(git -C "$SWALP_ROOT" ls-files '*.cpp' '*.h' '*.cu'); do
  clang-format --dry-run -Werror "$SWALP_ROOT/$f" > /dev/null 2>&1 || unformatted+=("$f")
done
if [ ${#unformatted[@]} -gt 0 ]; then
  echo "swalp: not formatted per .clang-format (run clang-format -i): ${unformatted[*]}" >&2
  exit 1
fi

swalp_build -DSWALP_BUILD_TESTS=ON -DSWALP_ORACLE_PYTHON="$venv/bin/python" -DSWALP_PYTHON=ON \
  -DPython3_EXECUTABLE=/usr/bin/python3
phase_done "build"
(cd "$SWALP_BUILD_DIR" && ctest --output-on-failure -j "$(nproc)" "$@")
phase_done "ctest"

# `import swalp` (python/): pip-installed into a venv that sees Debian's python3-torch (numpy<2
# and so ml_dtypes<0.5 there), from the extension the build above made, then its pytest suite
# against the CLI.
py_venv="$SWALP_BUILD_DIR/venv-torch"
if [ ! -x "$py_venv/bin/python" ] || ! "$py_venv/bin/python" -c "import pytest, ml_dtypes" 2>/dev/null; then
  /usr/bin/python3 -m venv --system-site-packages "$py_venv"
  "$py_venv/bin/pip" install --quiet --disable-pip-version-check pytest "numpy<2" "ml_dtypes<0.5"
fi
SWALP_PYTHON_BUILD_DIR="$SWALP_BUILD_DIR" \
  "$py_venv/bin/pip" install --quiet --disable-pip-version-check --no-build-isolation "$SWALP_ROOT/python"
(cd "$SWALP_BUILD_DIR" && SWALP_CLI="$SWALP_BUILD_DIR/cli/swalp" \
   "$py_venv/bin/python" -m pytest -q -p no:cacheprovider "$SWALP_ROOT/tests/python/test_python_package.py")
phase_done "pytest"

# The core and CLI tests again in an AddressSanitizer + UndefinedBehaviorSanitizer build (build-sanitize/):
# any report fails the run (-fno-sanitize-recover). SWALP_SKIP_SANITIZE=1 skips it.
if [ "${SWALP_SKIP_SANITIZE:-0}" != 1 ]; then
  sanitize_dir="$SWALP_ROOT/build-sanitize"
  # Asserts on (Debug): the invariants are checked too. -O1, but the CLI's own files at -O0
  # (cli/CMakeLists.txt: a third less compile time; the work runs in the -O1 libraries).
  cmake -S "$SWALP_ROOT" -B "$sanitize_dir" -G Ninja -DSWALP_SANITIZE=address,undefined \
    -DSWALP_TORCH=OFF -DSWALP_BUILD_BENCH=OFF -DSWALP_BUILD_TESTS=ON \
    -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O1 > /dev/null
  core_targets=()
  for t in test_rng test_format_parse test_float_exhaustive test_fixed_exhaustive \
           test_scoped_formats test_stochastic test_special_values test_codecs test_huge_indices test_posit \
           test_matmul test_streamed_outputs; do
    core_targets+=("$t")
  done
  cmake --build "$sanitize_dir" --target "${core_targets[@]}" swalp
  phase_done "sanitizer build"
  # The core tests and the CLI tests of the torch-free commands (quantize, formats, codecs,
  # theory, zipml) against the sanitized executable.
  # The out-of-memory message and the pipe-speed bar are checked in the optimized build only
  # (SWALP_SANITIZED: the sanitizer's allocator reports huge requests itself, and it is slow),
  # and so are the sweeps of millions of random floats per format (about 100 s here; every code,
  # midpoint and neighbour of each format still runs sanitized).
  (cd "$sanitize_dir" && SWALP_SANITIZED=1 \
     ctest --output-on-failure -j "$(nproc)" -L "core|cli" -E "FastMatchesReferenceOnRandomFloats|Matmul.FastMatchesReferenceInEveryOrderAndRounding")
  phase_done "sanitized ctest"
fi

# The CUDA kernels and `swalp bench quantize --device cuda` compile wherever nvcc is
# (build-cuda/); their tests run where a GPU is and check the error path elsewhere. SWALP_SKIP_CUDA=1 skips it.
nvcc_path="$(command -v nvcc || true)"
[ -z "$nvcc_path" ] && [ -x /usr/local/cuda/bin/nvcc ] && nvcc_path=/usr/local/cuda/bin/nvcc
if [ "${SWALP_SKIP_CUDA:-0}" != 1 ] && [ -n "$nvcc_path" ]; then
  cuda_dir="$SWALP_ROOT/build-cuda"
  if nvidia-smi > /dev/null 2>&1; then
    cuda_targets=(test_cuda_quantize swalp)
    cuda_archs=()
  else
    # No GPU: a compile check of the kernels for one architecture, and their error path; the
    # CLI's `--device cuda` runs where a GPU is (about 3 minutes saved on 2 cores).
    cuda_targets=(test_cuda_quantize)
    cuda_archs=(-DCMAKE_CUDA_ARCHITECTURES=90)
  fi
  cmake -S "$SWALP_ROOT" -B "$cuda_dir" -G Ninja -DSWALP_CUDA=ON -DCMAKE_CUDA_COMPILER="$nvcc_path" \
    "${cuda_archs[@]}" -DSWALP_TORCH=OFF -DSWALP_BUILD_BENCH=OFF -DSWALP_BUILD_TESTS=ON > /dev/null
  cmake --build "$cuda_dir" --target "${cuda_targets[@]}"
  "$cuda_dir/tests/test_cuda_quantize"
  if [ -x "$cuda_dir/cli/swalp" ] && [ ${#cuda_archs[@]} -eq 0 ]; then
    bash "$SWALP_ROOT/tests/cuda/test_bench_cuda.sh" "$cuda_dir/cli/swalp"
  fi
  phase_done "CUDA build and tests"
fi

# The libFuzzer targets (clang, build-fuzz/), a short run of each over its seed corpus and the
# regression inputs of past findings. SWALP_SKIP_FUZZ=1 skips it; scripts/fuzz.sh --runs N is
# the long mode.
if [ "${SWALP_SKIP_FUZZ:-0}" != 1 ]; then
  "$SWALP_ROOT/scripts/fuzz.sh" --seconds "${SWALP_FUZZ_SECONDS:-6}"
  phase_done "fuzz"
fi
