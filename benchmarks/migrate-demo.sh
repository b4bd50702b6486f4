#!/usr/bin/env bash
# `tributary admin migrate` on the demo's server directory, audited before and after, release build:
#   1. a copy of WORKDIR/run/server served on SQLite as the demo served it; an audit of every release
#      with a new persistent auditor state; the checkpoint and the latest release's manifest noted;
#   2. the server stopped; a throw-away PostgreSQL cluster; `admin migrate` of the copy into it;
#   3. the copy served on PostgreSQL; the audit again with the state of step 1 (a log that forked or
#      lost entries fails it); the same checkpoint and the same manifest served.
# Usage: benchmarks/migrate-demo.sh [WORKDIR (.demo)]      after scripts/demo.sh (SmolLM2 anchor)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
work=$(realpath "${1:-.demo}")
bin=$PWD/.build/release/tributary
[ -f "$work/run/server/tributary.sqlite" ] || { echo "migrate-demo: no demo server in $work/run/server (run scripts/demo.sh)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/tributary-migrate.XXXXXX)
# The cluster in a directory of its own: the database server runs as another user, which cannot
# enter a mktemp directory (0700).
pg=$(mktemp -d /tmp/tributary-migrate-pg.XXXXXX)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  scripts/postgres-test-cluster.sh stop "$pg" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
cp -a "$work/run/server" "$tmp/server"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
serve() {
  "$bin" serve --dir "$tmp/server" --anchor "$work/anchor" --probe "$work/corpora/public" --origin demo.tributary/log \
    --operator-key "$work/run/keys/operator.pub" --no-auto-release --probe-bytes 8192 --expert-layers 22-29 \
    --port "$port" --log-level warning "$@" >> "$tmp/serve.log" 2>&1 &
  server_pid=$!
  wait_for "$url/healthz" 120 && return 0
  cat "$tmp/serve.log"; exit 1
}
stop() { kill "$server_pid"; wait "$server_pid" || true; server_pid=; }
audit() {
  "$bin" audit --server "$url" --log-key "$tmp/server/log.pub" --operator-key "$work/run/keys/operator.pub" \
    --state "$tmp/audit-state" --all-releases
}

echo "== 1. on SQLite"
serve
audit
curl -sf "$url/checkpoint" > "$tmp/checkpoint.before"
curl -sf "$url/v1/releases/latest" > "$tmp/release.before"
stop

echo "== 2. admin migrate"
exports=$(scripts/postgres-test-cluster.sh start "$pg")
eval "$exports"
"$bin" admin migrate --dir "$tmp/server" --database "$TRIBUTARY_TEST_POSTGRES" --database-password-file "$TRIBUTARY_TEST_POSTGRES_PASSWORD_FILE"

echo "== 3. on PostgreSQL, audited with the state of step 1"
serve --database "$TRIBUTARY_TEST_POSTGRES" --database-password-file "$TRIBUTARY_TEST_POSTGRES_PASSWORD_FILE"
audit
curl -sf "$url/checkpoint" > "$tmp/checkpoint.after"
curl -sf "$url/v1/releases/latest" > "$tmp/release.after"
cmp "$tmp/checkpoint.before" "$tmp/checkpoint.after" && echo "same checkpoint before and after: $(sed -n 2,3p "$tmp/checkpoint.after" | tr '\n' ' ')"
cmp "$tmp/release.before" "$tmp/release.after" && echo "same latest release before and after"
stop
echo "migrate-demo: PASSED"
