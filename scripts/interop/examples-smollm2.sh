#!/usr/bin/env bash
# examples/ end to end on SmolLM2-135M, run as examples/README.md tells a newcomer to run them: the
# operator imports the anchor and starts the server, two owners train with the default training
# options (sized to this machine's memory), an auditor audits, an owner opts out, a second release
# and audit. Prints how long the server took to answer /healthz and each owner's peak memory. Not
# part of CI (about 20 minutes on 2 cores); EXPERT_STEPS shortens it.
#   scripts/interop/examples-smollm2.sh            (release build; TRIBUTARY=… to use another binary)
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/setup.sh >/dev/null
if [ -z "${TRIBUTARY:-}" ]; then
  swift build -c release --product tributary >/dev/null
  swift build -c release --product tributary-dev >/dev/null
fi
export TRIBUTARY=${TRIBUTARY:-$PWD/.build/release/tributary}
dev=${TRIBUTARY_DEV:-$(dirname "$TRIBUTARY")/tributary-dev}
export WORK=${WORK:-$(mktemp -d /tmp/tributary-examples.XXXXXX)} SERVER=${SERVER:-http://127.0.0.1:18181}
export GGUF=$(scripts/smollm2-gguf.sh) EXPERT_LAYERS=22-29 EXPERT_STEPS=${EXPERT_STEPS:-4}
trap 'kill $(cat "$WORK/server.pid" 2>/dev/null) 2>/dev/null || true' EXIT
echo "work directory: $WORK"
"$dev" prepare-corpora --workdir "$WORK" --documents 120
start=$SECONDS
examples/operator/start.sh
healthz=$((SECONDS - start))
for org in acme globex; do examples/owner/keygen.sh $org; examples/operator/enrol.sh $org; done
examples/owner/contribute.sh acme "$WORK/corpora/linux-uapi" | tee "$WORK/acme.out"
examples/owner/contribute.sh globex "$WORK/corpora/perl" | tee "$WORK/globex.out"
examples/operator/release.sh
mkdir -p "$WORK/eval" && cp $(ls "$WORK"/corpora/public/* | head -n 20) "$WORK/eval/"   # enough files that the held-out split is not empty
EVAL_TEXT=$WORK/eval examples/auditor/audit.sh
examples/owner/opt-out.sh acme
examples/operator/release.sh
EVAL_TEXT=$WORK/eval examples/auditor/audit.sh
echo
echo "server: /healthz answered $healthz s after start (anchor import included) — $(grep -o 'probe ready.*' "$WORK/server.log" | head -n 1)"
for org in acme globex; do echo "$org: $(grep -E 'sized to|memory:|peak memory' "$WORK/$org.out" | tr '\n' ' ')"; done
