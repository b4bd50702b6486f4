#!/usr/bin/env bash
# Creates .venv-bench with PyTorch, transformers, peft, gguf and tokenizers from PyPI (several minutes,
# ~5 GB; pip prefers a local CPU wheel when PIP_FIND_LINKS offers one), unless present.
# Used only by the benchmarks and the transformers interop checks; CI does not run it.
set -euo pipefail
cd "$(dirname "$0")/.."
if .venv-bench/bin/python -c 'import torch, transformers, safetensors, numpy, gguf, tokenizers, accelerate, peft' 2>/dev/null; then exit 0; fi
echo "benchmarks: installing torch and transformers into .venv-bench (one time, several minutes)"
[ -x .venv-bench/bin/python ] || python3 -m venv .venv-bench
.venv-bench/bin/pip install -q --disable-pip-version-check torch transformers safetensors numpy "gguf==0.19.0" "tokenizers==0.23.3" psutil accelerate peft
