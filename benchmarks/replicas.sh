#!/usr/bin/env bash
# Replicas on PostgreSQL against one server on SQLite, release build, loopback, one throw-away
# PostgreSQL cluster (scripts/postgres-test-cluster.sh) for the whole run:
#   1. log appends (transaction, tree nodes, signed checkpoint): SQLite, PostgreSQL with 1 writer and
#      with 3 writers contending for the write lock (tributary-dev bench-append);
#   2. the load test (uploads, opt-outs, routing, releases; everything acknowledged verified after)
#      on SQLite with 1 server (the baseline), PostgreSQL with 1 replica, PostgreSQL with 3 replicas;
#   3. the replica fault drill: SIGKILL of replicas and of the database under load.
# Usage: benchmarks/replicas.sh [SECONDS_OF_LOAD (60)] [DRILL_CYCLES (30)]
source "$(dirname "$0")/common.sh"
seconds=${1:-60}
cycles=${2:-30}
bench_build
dev=$PWD/.build/release/tributary-dev
pg=$(bench_scratch bench-pg)
on_exit 'scripts/postgres-test-cluster.sh stop "$pg"'
# An assignment, so that set -e stops here if the cluster does not start (eval would not).
exports=$(scripts/postgres-test-cluster.sh start "$pg")
eval "$exports"
db=(--database "$TRIBUTARY_TEST_POSTGRES" --database-password-file "$TRIBUTARY_TEST_POSTGRES_PASSWORD_FILE")

echo "== 1. log appends"
"$dev" bench-append "${db[@]}" --appends 2000 --writers 3
echo "== 2. load test, $seconds s each"
"$dev" load-test --seconds "$seconds" --uploaders 8 --routers 64
"$dev" load-test --seconds "$seconds" --uploaders 8 --routers 64 --replicas 1 "${db[@]}"
"$dev" load-test --seconds "$seconds" --uploaders 8 --routers 64 --replicas 3 "${db[@]}"
echo "== 3. replica drill, $cycles cycles"
"$dev" replica-drill --replicas 3 --cycles "$cycles" "${db[@]}" --cluster "$TRIBUTARY_TEST_POSTGRES_CLUSTER"
