#!/usr/bin/env bash
# Sets everything up and runs every test (debug build), then a short API fuzzing run.
# `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build --build-tests
swift test --skip-build
# schemathesis, an API fuzzer we did not write, against a live server and protocol/openapi.yaml.
scripts/fuzz-api.sh 45
