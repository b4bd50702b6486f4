# Shared by the example scripts: where things live, and a helper that shows each command.
set -euo pipefail
WORK=${WORK:-$PWD/.examples}
TRIBUTARY=${TRIBUTARY:-$PWD/.build/release/tributary}
SERVER=${SERVER:-http://127.0.0.1:8080}
# The deployment's log origin: statements and signed requests name it, and only this server accepts them.
ORIGIN=${ORIGIN:-examples.tributary/log}
export WORK TRIBUTARY SERVER ORIGIN   # the scripts one role runs from another see the same
mkdir -p "$WORK"
run() { printf '$ tributary'; printf ' %q' "$@"; printf '\n'; "$TRIBUTARY" "$@"; }

source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"   # wait_for: bounded, talkative waits
