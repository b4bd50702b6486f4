#!/usr/bin/env bash
# Sets everything up and runs every test (debug build). `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build --build-tests
swift test --skip-build
