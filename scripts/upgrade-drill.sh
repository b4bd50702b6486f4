#!/usr/bin/env bash
# Upgrade drill: a deployment made by an earlier release still audits with this checkout's binaries,
# and this checkout's server takes over its data.
#
#   1. OLD_REV's binaries (default: the last release before signature spaces) run the examples on
#      the tiny built-in anchor: server, two owners contribute (v2 statements), a release, an audit;
#   2. this checkout's auditor audits that live server, online and from an export;
#   3. the old server stops and this checkout's server starts on the same directory;
#   4. the new auditor audits again with the state it kept (the log only grew);
#   5. a third owner contributes with this checkout's client (against the old anchor), and the old
#      owner opts out; a release; the new auditor audits everything.
#
# Not part of CI (it builds OLD_REV: ~6 minutes on 2 cores). Prints PASSED at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OLD_REV=${OLD_REV:-75186c5}
NEW=${NEW:-$ROOT/.build/release/tributary}
[ -x "$NEW" ] || { echo "build this checkout first (swift build -c release --product tributary) or set NEW" >&2; exit 1; }
W=$(mktemp -d /tmp/tributary-upgrade.XXXXXX)
PORT=${PORT:-18931}
export SERVER=http://127.0.0.1:$PORT WORK=$W/deployment ANCHOR_CONFIG=tiny ANCHOR_STEPS=60 EXPERT_STEPS=20
cleanup() {
  [ -f "$WORK/server.pid" ] && kill "$(cat "$WORK/server.pid")" 2>/dev/null || true
  git worktree remove --force "$W/old" 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT
step() { printf '\n== %s\n' "$*"; }

step "building $OLD_REV (debug) in $W/old"
git worktree add --detach -f "$W/old" "$OLD_REV" >/dev/null
(cd "$W/old" && swift build 2>&1 | tail -n 1)
OLD=$W/old/.build/debug/tributary
OLD_DEV=$W/old/.build/debug/tributary-dev

step "1. the old release: corpora, anchor, server, two owners, a release, its own audit"
"$OLD_DEV" prepare-corpora --workdir "$WORK" >/dev/null
export TRIBUTARY=$OLD
"$W/old/examples/operator/start.sh"
for org in acme globex; do "$W/old/examples/owner/keygen.sh" $org; "$W/old/examples/operator/enrol.sh" $org; done
"$W/old/examples/owner/contribute.sh" acme "$WORK/corpora/linux-uapi"
"$W/old/examples/owner/contribute.sh" globex "$WORK/corpora/perl"
"$W/old/examples/operator/release.sh"
"$OLD" audit --server "$SERVER" --log-key "$WORK/server/log.pub" --operator-key "$WORK/operator/operator.pub" \
  --state "$W/old-audit" --all-releases

step "2. the new auditor on the old server, online and from an export"
AUDIT=(--log-key "$WORK/server/log.pub" --operator-key "$WORK/operator/operator.pub")
"$NEW" audit --server "$SERVER" "${AUDIT[@]}" --state "$W/new-audit" --all-releases
"$NEW" log export --server "$SERVER" --out "$W/export"
"$NEW" audit --export "$W/export" "${AUDIT[@]}" --state "$W/new-audit-offline"

step "3. the new server on the old server's directory"
kill "$(cat "$WORK/server.pid")"
while kill -0 "$(cat "$WORK/server.pid")" 2>/dev/null; do sleep 0.2; done
export TRIBUTARY=$NEW
examples/operator/start.sh

step "4. the new auditor again, with the state it kept"
"$NEW" audit --server "$SERVER" "${AUDIT[@]}" --state "$W/new-audit" --all-releases

step "5. a new owner contributes with the new client; acme opts out; a release; the audit"
examples/owner/keygen.sh initech
examples/operator/enrol.sh initech
examples/owner/contribute.sh initech "$WORK/corpora/locales"
WORK=$WORK examples/owner/opt-out.sh acme
examples/operator/release.sh
"$NEW" audit --server "$SERVER" "${AUDIT[@]}" --state "$W/new-audit" --all-releases
latest=$(curl -fsS "$SERVER/v1/releases/latest")
echo "latest release: $latest" | cut -c1-400
echo "$latest" | grep -q '"organisation":"initech"' || { echo "the new release does not hold initech's expert" >&2; exit 1; }
echo "$latest" | grep -q '"organisation":"acme"' && { echo "the new release still holds acme's withdrawn expert" >&2; exit 1; }
echo
echo "upgrade drill: PASSED ($OLD_REV -> $(git rev-parse --short HEAD))"
