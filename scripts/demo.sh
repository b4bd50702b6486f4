#!/usr/bin/env bash
# Sets everything up and runs the main job (release build).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product tributary
bin=.build/release/tributary
work=${TRIBUTARY_WORKDIR:-.demo}
rm -rf "$work/roundtrip" && mkdir -p "$work/roundtrip"
"$bin" keygen --name acme --out "$work/roundtrip/keys"
mkdir -p "$work/roundtrip/bundle"
cp protocol/test-vectors/bundle/expert.safetensors protocol/test-vectors/bundle/routing.safetensors "$work/roundtrip/bundle/"
"$bin" sign "$work/roundtrip/bundle" --key "$work/roundtrip/keys/acme.key"
"$bin" verify "$work/roundtrip/bundle" --pubkey "$work/roundtrip/keys/acme.pub"
"$bin" inspect "$work/roundtrip/bundle"
