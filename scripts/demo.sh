#!/usr/bin/env bash
# Sets everything up and runs the main job: `tributary demo` (release build) in .demo/ — three
# organisations, an operator and an auditor on loopback, then the evaluation. Reruns reuse the
# corpora and the anchor kept in .demo/. Extra arguments go to `tributary demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product tributary
exec .build/release/tributary demo --workdir "${TRIBUTARY_WORKDIR:-.demo}" "$@"
