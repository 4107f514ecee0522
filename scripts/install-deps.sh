#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian 12 packages pseudomask needs, only those that are missing.
#   scripts/install-deps.sh            build + test dependencies
#   scripts/install-deps.sh --fixtures also python3-numpy/torch/pil, to regenerate test fixtures
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config
  libpng-dev libjpeg62-turbo-dev zlib1g-dev
  libfmt-dev libcli11-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libtorch-dev
  libopenblas0-pthread  # becomes libblas.so.3 for libtorch: ViT training ~6x faster than netlib BLAS
  python3  # the CLI smoke scripts use its standard library
  python3-numpy python3-pil  # label_png_smoke reads our label PNGs as PIL/imageio-style readers do
  pybind11-dev python3-dev  # the Python module (python/, PM_PYTHON), built and tested by default
)
if [ "${1:-}" = "--fixtures" ]; then packages+=(python3-torch); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
