#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the pseudomask Python package and installs it into a Python's site-packages, offline.
#   scripts/install-python.sh [PYTHON]   PYTHON: the interpreter to install for (default python3
#                                        on PATH: inside an activated virtual environment, its own)
# Installs the missing Debian packages first (scripts/install-deps.sh, which includes
# pybind11-dev, python3-dev and python3-numpy). For the system Python (not a virtual environment)
# the target, /usr/local/lib/python3.X/dist-packages, needs root: the install step runs with sudo.
set -euo pipefail
cd "$(dirname "$0")/.."
python="$(command -v "${1:-python3}")"
scripts/install-deps.sh
"$python" -c "import numpy" 2>/dev/null || {
  echo "install-python: $python has no numpy; use Debian's /usr/bin/python3, or a venv made with" \
       "'/usr/bin/python3 -m venv --system-site-packages DIR'" >&2
  exit 1
}
tag="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
dir="build-python-$tag-$(echo "$python" | cksum | cut -d' ' -f1)"
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE="$python" \
  -DPM_PYTHON=ON -DPM_BUILD_NN=OFF -DPM_BUILD_CLI=OFF -DPM_BUILD_TESTS=OFF -DPM_BUILD_BENCH=OFF \
  > "$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; exit 1; }
cmake --build "$dir" -j "$(nproc)" --target pseudomask_python
SUDO=""
if [ "$("$python" -c 'import sys; print(sys.prefix == sys.base_prefix)')" = True ] && [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
$SUDO cmake --install "$dir" --component python
(cd /tmp && "$python" -c "import pseudomask; print('installed pseudomask', pseudomask.__version__, 'in', pseudomask.__file__)")
