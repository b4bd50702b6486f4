#!/usr/bin/env bash
# Runs schemathesis (an API fuzzer we did not write) against a live server and protocol/openapi.yaml
# for a bounded time: zero 5xx, no crash, every response as the document says.
#
#   scripts/fuzz-api.sh [SECONDS]      (default 60; CI runs 45)
#
# Uses the built binaries (.build/debug unless TRIBUTARY_BIN / TRIBUTARY_DEV_BIN say otherwise) and
# the .venv that scripts/setup.sh creates. Prints the number of requests sent and leaves the
# schemathesis reports in $WORK/report.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
seconds=${1:-60}
bin=${TRIBUTARY_BIN:-$PWD/.build/debug/tributary}
dev=${TRIBUTARY_DEV_BIN:-$PWD/.build/debug/tributary-dev}
st=$PWD/.venv/bin/schemathesis
work=$(mktemp -d /tmp/tributary-fuzz-api-XXXXXX)
origin=fuzz.tributary/log
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

echo "fuzz-api: a small deployment in $work"
"$dev" small-deployment --out "$work/deployment" --organisations acme globex >/dev/null
d=$work/deployment
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" serve --dir "$work/server" --anchor "$d/anchor" --probe "$d/probe" --origin "$origin" --port "$port" \
  --operator-key "$d/keys/operator.pub" --log-level warning > "$work/server.log" 2>&1 &
server_pid=$!
url=http://127.0.0.1:$port
wait_for "$url/healthz" 60 "" "$work/server.log" || { echo "fuzz-api: the server did not start"; exit 1; }

# Real state for the fuzzer to find: two enrolments, a contribution, a release.
for org in acme globex; do
  "$bin" admin enroll --server "$url" --operator-key "$d/keys/operator.key" --name $org --pubkey "$d/keys/$org.pub" >/dev/null
done
"$bin" sign "$d/bundles/acme" --key "$d/keys/acme.key" --origin "$origin" >/dev/null
"$bin" submit --server "$url" "$d/bundles/acme" >/dev/null
"$bin" admin release --server "$url" --operator-key "$d/keys/operator.key" >/dev/null

echo "fuzz-api: schemathesis $("$st" --version | awk '{print $NF}') against $url for ${seconds}s"
set +e
SCHEMATHESIS_HOOKS=scripts/schemathesis/hooks.py "$st" --config-file scripts/schemathesis/schemathesis.toml run protocol/openapi.yaml \
  --url "$url" --max-time "$seconds" --max-examples 1000 --report junit,json,har --report-dir "$work/report" > "$work/schemathesis.out" 2>&1
status=$?
set -e
tail -25 "$work/schemathesis.out"
requests=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["log"]["entries"]))' "$work"/report/har-*.json 2>/dev/null || echo "?")
alive=yes
curl -sf "$url/healthz" >/dev/null || alive=no
kill -0 "$server_pid" 2>/dev/null || alive=no
echo "fuzz-api: $requests requests sent; server still answering: $alive; schemathesis exit status $status"
if [ "$alive" != yes ] || [ "$status" -ne 0 ]; then
  echo "fuzz-api: FAILED (server log: $work/server.log; reports: $work/report)"
  tail -20 "$work/server.log"
  exit 1
fi
echo "fuzz-api: PASSED"
