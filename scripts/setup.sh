# Sourced by ./demo.sh and ./test.sh: install what is missing (Debian packages), configure and
# build. Idempotent; a second run only rebuilds what changed.
set -euo pipefail

SWALP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SWALP_BUILD_DIR="${SWALP_BUILD_DIR:-$SWALP_ROOT/build}"
SWALP_PACKAGES=(cmake ninja-build g++ pkg-config libhwy-dev libgtest-dev libcli11-dev
                nlohmann-json3-dev zlib1g-dev dataset-fashion-mnist python3 python3-venv
                libtorch-dev libopenblas0-pthread gnuplot-nox libtomlplusplus-dev
                libopenmpi-dev openmpi-bin clang clang-format libclang-rt-14-dev libomp-dev
                python3-torch python3-dev pybind11-dev)

swalp_install_packages() {
  local missing=()
  for p in "${SWALP_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "swalp: installing Debian packages: ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "swalp: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# swalp_build [CMAKE_ARGS...]; SWALP_BUILD_TARGET limits the build to one target.
swalp_build() {
  cmake -S "$SWALP_ROOT" -B "$SWALP_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" > /dev/null
  cmake --build "$SWALP_BUILD_DIR" -j "$(nproc)" ${SWALP_BUILD_TARGET:+--target "$SWALP_BUILD_TARGET"}
}

swalp_install_packages
