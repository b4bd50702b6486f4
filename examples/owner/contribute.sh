#!/usr/bin/env bash
# Data owner: train an expert on private text and contribute it. Only the signed bundle
# (expert weights + DP routing signature) leaves this machine; DATA_DIR never does.
source "$(dirname "$0")/../common.sh"
ORG=${1:?usage: contribute.sh ORG DATA_DIR}
DATA=${2:?usage: contribute.sh ORG DATA_DIR}
HOME_DIR=$WORK/owners/$ORG
PUBLIC_TEXT=${PUBLIC_TEXT:-$WORK/corpora/public}

# 1. (keygen.sh made the key pair and the operator enrolled ORG.pub.)
# 2. Train against the operator's anchor: the DP routing signature first, then the expert.
run train --anchor "$WORK/anchor" --data "$DATA" --public-text "$PUBLIC_TEXT" --out "$HOME_DIR/train" --steps "${EXPERT_STEPS:-300}" --epsilon 1 \
  ${EXPERT_LAYERS:+--expert-layers "$EXPERT_LAYERS"}

# 3. Sign and check the bundle (for this deployment only: its log origin), then look at what will be uploaded.
run sign "$HOME_DIR/train/bundle" --key "$HOME_DIR/keys/$ORG.key" --origin "$ORIGIN"
run verify "$HOME_DIR/train/bundle" --pubkey "$HOME_DIR/keys/$ORG.pub"
run inspect "$HOME_DIR/train/bundle"

# 4. Submit: the server checks the envelope before it reads the weights, then verifies and logs the
#    bundle; the log entry must hold this very envelope, and its inclusion proof is checked against
#    the signed checkpoint, with the log key pinned (the log index is kept for opt-out.sh).
run submit --server "$SERVER" --log-key "$WORK/server/log.pub" "$HOME_DIR/train/bundle" --json | tee "$HOME_DIR/submission.json"
run verify-inclusion --server "$SERVER" --log-key "$WORK/server/log.pub" "$HOME_DIR/train/bundle"
