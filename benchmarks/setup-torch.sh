#!/usr/bin/env bash
# Creates .venv-bench with PyTorch and transformers from PyPI (several minutes, ~5 GB) unless present.
# Used only by the benchmarks and the transformers interop check; CI does not run it.
set -euo pipefail
cd "$(dirname "$0")/.."
if .venv-bench/bin/python -c 'import torch, transformers, safetensors, numpy' 2>/dev/null; then exit 0; fi
echo "benchmarks: installing torch and transformers into .venv-bench (one time, several minutes)"
python3 -m venv .venv-bench
.venv-bench/bin/pip install -q --disable-pip-version-check torch transformers safetensors numpy
