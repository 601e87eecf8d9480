#!/usr/bin/env bash
# Set up pyg_ext from scratch in a virtual environment (default: .venv in the repo root).
#   bash scripts/install.sh [VENV_DIR]
# torch is pinned to the CPU build first, so that nothing pulls a multi-GB CUDA build;
# torch-scatter has no wheel for this torch on PyPI and compiles from source (about 7 minutes
# the first time; pip caches the wheel). pyg_ext works without it: set PYG_EXT_NO_SCATTER=1
# to skip it.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv}
PYTHON=${PYTHON:-python3}
"$PYTHON" -m venv "$VENV"
PIP="$VENV/bin/python -m pip"
$PIP install --quiet --upgrade pip setuptools wheel
$PIP install --quiet "torch==${TORCH_VERSION:-2.13.0}"
if [ "${PYG_EXT_NO_SCATTER:-0}" != "1" ]; then
  echo "installing torch-scatter (compiles from source the first time, ~7 min)..."
  $PIP install --quiet --no-build-isolation torch-scatter
fi
$PIP install --quiet -e ".[test,hdf5]"
echo "pyg_ext installed in $VENV: $("$VENV/bin/pyg-ext" --version)"
