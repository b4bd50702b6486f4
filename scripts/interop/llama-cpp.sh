#!/usr/bin/env bash
# A release in llama.cpp itself: exports RELEASE_DIR as GGUF (F32, F16, Q8_0) with `tributary export`,
# then scripts/interop/llamacpp_release.py runs each in llama.cpp (llama-cpp-python, built from source by pip)
# against Tributary's decoder in the same run: greedy tokens, per-token log-probabilities, tokens/s.
# Not part of CI (llama.cpp compiles for minutes; torch's venv). Release build.
#   scripts/interop/llama-cpp.sh RELEASE_DIR     (e.g. a release fetched by `tributary fetch-release`,
#                                                  or WORK/auditor/latest of scripts/interop/pytorch-expert.sh)
source "$(dirname "$0")/../../benchmarks/common.sh"
release=${1:?usage: llama-cpp.sh RELEASE_DIR}
bench_build tributary tributary-dev
benchmarks/setup-torch.sh
if ! .venv-bench/bin/python -c 'import llama_cpp' 2>/dev/null; then
  echo "installing llama-cpp-python into .venv-bench (compiles llama.cpp: several minutes)"
  # Portable AVX2 kernels rather than -march=native: a native build on a CPU that advertises AMX
  # (Sapphire Rapids VMs) died with SIGILL in the Q8_0 matrix product; decoding is memory-bound.
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON" \
    .venv-bench/bin/pip install -q --disable-pip-version-check --no-cache-dir "llama-cpp-python==0.3.36"
fi
work=$(bench_scratch llama-cpp); bench_keep "$work"
for type in f32 f16 q8_0; do
  .build/release/tributary export --format gguf --model "$release" --out "$work/release-$type.gguf" --type "$type"
done
echo "machine: $(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2-), $(nproc) cores; $(date -u +%F); $(.build/release/tributary-dev blas-info | grep -E "^core:" )"
.venv-bench/bin/python scripts/interop/llamacpp_release.py .build/release/tributary-dev "$release" "$work" /usr/lib/python3.11/textwrap.py
