#!/usr/bin/env bash
# The demo's table rows as Hugging Face transformers computes them: loads the anchor, each owner's
# 2-expert model and the demo's releases (before and after the opt-out) with AutoModelForCausalLM —
# a release is a plain MixtralForCausalLM, routed top-2 by its own router rows — scores the held-out
# windows Tributary scored and prints both runtimes' bits per byte side by side.
#   benchmarks/release-transformers.sh [WORKDIR]     (default .demo-smol; run scripts/demo.sh there first)
# Needs the torch/transformers virtualenv (benchmarks/setup-torch.sh, ~5 GB; not part of CI).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-.demo-smol}
[ -f "$work/run/releases/2/config.json" ] || { echo "no releases in $work/run: run TRIBUTARY_WORKDIR=$work scripts/demo.sh first" >&2; exit 1; }
scripts/setup.sh >/dev/null
benchmarks/setup-torch.sh
swift build -c release --product tributary-dev >/dev/null
owners=$(ls -d "$work"/run/owners/*/model)
out=$(mktemp /tmp/tributary-windows-XXXX.json)
trap 'rm -f "$out"' EXIT
.build/release/tributary-dev held-out-windows --corpora "$work/corpora" --domain public linux-uapi perl locales \
  --model "$work/anchor" $owners "$work/run/releases/1" "$work/run/releases/2" --out "$out"
.venv-bench/bin/python scripts/interop/release_transformers.py "$out"
