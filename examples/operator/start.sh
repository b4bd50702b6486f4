#!/usr/bin/env bash
# Operator: the public anchor, the operator key, and the aggregation server.
#   PUBLIC_TEXT   public text for the anchor and the harmful-expert probe (default: the demo's)
#   GGUF          import this pretrained model as the anchor (e.g. $(scripts/smollm2-gguf.sh)) instead
#                 of pretraining the built-in one; EXPERT_LAYERS (e.g. 22-29) limits where experts go
source "$(dirname "$0")/../common.sh"
PUBLIC_TEXT=${PUBLIC_TEXT:-$WORK/corpora/public}

# 1. The anchor everyone trains against. Publish WORK/anchor (or its digest) to the data owners.
if [ ! -f "$WORK/anchor/anchor.json" ] && [ -n "${GGUF:-}" ]; then
  run anchor import --gguf "$GGUF" --public "$PUBLIC_TEXT" --max-bytes 200000 --out "$WORK/anchor"
elif [ ! -f "$WORK/anchor/anchor.json" ]; then
  run anchor train --corpus "$PUBLIC_TEXT" --config "${ANCHOR_CONFIG:-small}" --steps "${ANCHOR_STEPS:-1200}" --out "$WORK/anchor"
fi

# 2. The operator's key: admin requests (enrolments, releases) must be signed by it.
[ -f "$WORK/operator/operator.key" ] || run keygen --name operator --out "$WORK/operator"

# 3. The server: SQLite and files under WORK/server; it creates the log key on first start
#    (WORK/server/log.pub is what data owners and auditors pin).
"$TRIBUTARY" serve --dir "$WORK/server" --anchor "$WORK/anchor" --probe "$PUBLIC_TEXT" --origin "$ORIGIN" \
  --operator-key "$WORK/operator/operator.pub" --no-auto-release --port "${SERVER##*:}" \
  ${EXPERT_LAYERS:+--expert-layers "$EXPERT_LAYERS"} \
  >"$WORK/server.log" 2>&1 &
echo $! >"$WORK/server.pid"
# Bounded: the server computes its probe baseline before it listens (seconds on SmolLM2); STARTUP_LIMIT
# seconds at most, saying how long it has waited.
wait_for "$SERVER/healthz" "${STARTUP_LIMIT:-120}" "$(cat "$WORK/server.pid")" "$WORK/server.log"
echo "serving on $SERVER (pid $(cat "$WORK/server.pid"), log $WORK/server.log); log key: $(cat "$WORK/server/log.pub")"
