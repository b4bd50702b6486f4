#!/usr/bin/env bash
# Installs everything Tributary needs on a fresh Debian/Ubuntu machine that has Swift:
#   - the system C libraries its SwiftPM system-library targets link (libsodium, libcrypto, sqlite3, OpenBLAS);
#   - the Debian text packages the demo uses as corpora (fortunes, jargon, python3.11's stdlib, C headers, licences);
#   - wrk, for the HTTP benchmarks; rsvg-convert (librsvg2-bin), for the demo chart as PNG;
#   - a Python virtualenv (.venv) with Hugging Face's safetensors and numpy, for the interop tests, and
#     schemathesis, the API fuzzer scripts/fuzz-api.sh runs.
# Idempotent: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(pkg-config libsodium-dev libssl-dev libsqlite3-dev libopenblas-dev
          fortunes-min fortunes jargon libpython3.11-stdlib linux-libc-dev base-files wrk python3-venv librsvg2-bin curl)
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

if ! .venv/bin/python -c 'import safetensors, numpy, schemathesis' 2>/dev/null; then
  echo "setup: creating .venv with safetensors, numpy and schemathesis from PyPI"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check "safetensors==0.7.0" "numpy>=2,<3" "schemathesis==4.32.5"
fi
