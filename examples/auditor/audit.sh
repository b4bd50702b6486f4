#!/usr/bin/env bash
# Auditor: from public material only. Pin the log key and the operator key out of band.
source "$(dirname "$0")/../common.sh"
AUDIT=$WORK/auditor
mkdir -p "$AUDIT"

# 1. Every entry signed by an enrolled key, the log only grew since last time, every release
#    contains exactly the logged, unrevoked experts (tensor by tensor).
run audit --server "$SERVER" --log-key "$WORK/server/log.pub" --operator-key "$WORK/operator/operator.pub" \
  --state "$AUDIT/state" --all-releases

# 2. An offline copy anyone can audit later without the server.
rm -rf "$AUDIT/export"
run log export --server "$SERVER" --out "$AUDIT/export"
run audit --export "$AUDIT/export" --log-key "$WORK/server/log.pub" --operator-key "$WORK/operator/operator.pub" \
  --state "$AUDIT/offline-state"

# 3. Use the published model: download it (signature and digests checked), route a text, score it.
rm -rf "$AUDIT/latest"
run fetch-release --server "$SERVER" --log-key "$WORK/server/log.pub" --out "$AUDIT/latest"
run route --model "$AUDIT/latest" --text '#include <stdio.h>
int main(void) { return 0; }'
# Score it on held-out text, routed by posterior (protocol/SPEC.md §6.6): each document's bytes go to
# the expert set that explains it best so far. EVAL_TEXT: any directory of text (default: public prose).
run eval --model "$AUDIT/latest" --data "${EVAL_TEXT:-$WORK/corpora/public}" --split held-out --routing posterior
