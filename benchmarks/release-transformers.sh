#!/usr/bin/env bash
# The demo's table rows as Hugging Face transformers computes them: loads the anchor, each owner's
# 2-expert model and the demo's releases (before and after the opt-out) with AutoModelForCausalLM —
# a release is a plain MixtralForCausalLM, routed top-2 by its own router rows — scores the held-out
# windows Tributary scored and prints both runtimes' bits per byte side by side.
#   benchmarks/release-transformers.sh [WORKDIR]     (default .demo-smol; run scripts/demo.sh there first)
# Needs the torch/transformers virtualenv (benchmarks/setup-torch.sh, ~5 GB; not part of CI).
source "$(dirname "$0")/common.sh"
work=${1:-.demo-smol}
[ -f "$work/run/releases/2/config.json" ] || { echo "no releases in $work/run: run TRIBUTARY_WORKDIR=$work scripts/demo.sh first" >&2; exit 1; }
bench_build tributary-dev
benchmarks/setup-torch.sh
owners=$(ls -d "$work"/run/owners/*/model)
dir=$(bench_scratch windows); bench_keep "$dir"
out=$dir/windows.json
.build/release/tributary-dev held-out-windows --corpora "$work/corpora" --domain public linux-uapi perl locales \
  --model "$work/anchor" $owners "$work/run/releases/1" "$work/run/releases/2" --out "$out"
.venv-bench/bin/python scripts/interop/release_transformers.py "$out"
