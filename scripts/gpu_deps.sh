#!/usr/bin/env bash
# Run here (a Debian machine with the network): downloads the Debian packages the GPU machine
# lacks into .gpu-deps/ (ignored by git, about 2.3 MB), for scripts/gpu_session.sh to unpack
# there. The GPU machine reaches no network; name .gpu-deps in the device run's carry.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$root/.gpu-deps"
cd "$root/.gpu-deps"
apt-get download libhwy-dev libhwy1 libcli11-dev nlohmann-json3-dev libgtest-dev \
  libtomlplusplus-dev libtomlplusplus3 zlib1g-dev
ls -la
# Fashion-MNIST for the VGG16-LP comparison (the dataset-fashion-mnist package, 30 MB).
if [ -d /usr/share/datasets/fashion-mnist ]; then
  mkdir -p "$root/.gpu-deps/fashion-mnist"
  cp /usr/share/datasets/fashion-mnist/*.gz "$root/.gpu-deps/fashion-mnist/"
fi
