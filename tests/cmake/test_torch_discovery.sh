#!/usr/bin/env bash
# cmake/SwalpTorch.cmake on fake installations, isolated from the system's paths:
#  - a Torch CMake config (as pip's torch ships),
#  - Debian's libtorch-dev layout (headers + libtorch, libtorch_cpu, libc10, no CMake config),
#  - nothing: AUTO builds without torch, ON stops with a clear message.
# Usage: test_torch_discovery.sh SWALP_SOURCE_DIR
set -u
src="$1"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
isolate=(-DCMAKE_FIND_USE_CMAKE_SYSTEM_PATH=OFF -DCMAKE_FIND_USE_SYSTEM_ENVIRONMENT_PATH=OFF
         -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DSWALP_SOURCE_DIR="$src")
probe() {  # probe NAME BUILD_DIR ARGS... ; prints cmake output to $work/log
  local build="$work/$1"; shift
  cmake -S "$src/tests/cmake/torch_probe" -B "$build" -G Ninja -DCMAKE_MAKE_PROGRAM="$(command -v ninja)" \
    "${isolate[@]}" "$@" > "$work/log" 2>&1
}
expect() {  # expect NAME PATTERN
  if grep -q -- "$2" "$work/log"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $1"; cat "$work/log"; fi
}

# Debian layout.
deb="$work/debian"
mkdir -p "$deb/include/torch/csrc/api/include/torch" "$deb/lib"
touch "$deb/include/torch/csrc/api/include/torch/torch.h"
for lib in torch torch_cpu c10; do touch "$deb/lib/lib$lib.so"; done
probe deb-build -DCMAKE_PREFIX_PATH="$deb"
expect "debian layout found" "probe: found=ON"
expect "debian include dirs" "includes=$deb/include;$deb/include/torch/csrc/api/include"
expect "debian libraries" "libtorch.so;$deb/lib/libtorch_cpu.so;$deb/lib/libc10.so"
expect "debian source reported" "libtorch: system libtorch"

# Torch CMake config.
cfg="$work/pip/share/cmake/Torch"
mkdir -p "$cfg"
cat > "$cfg/TorchConfig.cmake" <<'CFG'
set(Torch_FOUND TRUE)
set(TORCH_LIBRARIES fake_torch_lib)
set(TORCH_INCLUDE_DIRS /fake/torch/include)
CFG
probe cfg-build -DCMAKE_PREFIX_PATH="$work/pip"
expect "config found" "probe: found=ON"
expect "config include dirs" "includes=/fake/torch/include"
expect "config libraries" "libraries=fake_torch_lib"
expect "config source reported" "libtorch: Torch CMake config"

# Nothing installed.
probe none-build -DCMAKE_PREFIX_PATH="$work/empty"
expect "none: AUTO continues" "probe: found=OFF"
probe on-build -DCMAKE_PREFIX_PATH="$work/empty" -DSWALP_TORCH=ON
expect "none: ON fails clearly" "SWALP_TORCH=ON but libtorch was not found"
probe off-build -DCMAKE_PREFIX_PATH="$deb" -DSWALP_TORCH=OFF
expect "OFF skips even when present" "probe: found=OFF"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
