#!/usr/bin/env bash
# Sets everything up and runs every test (debug build), then a short API fuzzing run.
# `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build --build-tests
# Package.swift's graph says what the code imports (no module reached only transitively).
.venv/bin/python scripts/check-imports.py
# A throw-away PostgreSQL cluster on a loopback port, removed on exit: the replica and migration
# tests need it, and the second pass runs the whole server suite on it instead of SQLite.
pg=$(mktemp -d /tmp/tributary-pg.XXXXXX)
trap 'scripts/postgres-test-cluster.sh stop "$pg"' EXIT
# An assignment, so that set -e stops here if the cluster does not start (eval would not).
exports=$(scripts/postgres-test-cluster.sh start "$pg")
eval "$exports"
swift test --skip-build
TRIBUTARY_TEST_BACKEND=postgres swift test --skip-build --filter TributaryServerTests
# schemathesis, an API fuzzer we did not write, against a live server and protocol/openapi.yaml.
scripts/fuzz-api.sh 45
