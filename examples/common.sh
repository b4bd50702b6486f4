# Shared by the example scripts: where things live, and a helper that shows each command.
set -euo pipefail
WORK=${WORK:-$PWD/.examples}
TRIBUTARY=${TRIBUTARY:-$PWD/.build/release/tributary}
SERVER=${SERVER:-http://127.0.0.1:8080}
mkdir -p "$WORK"
run() { printf '$ tributary'; printf ' %q' "$@"; printf '\n'; "$TRIBUTARY" "$@"; }
