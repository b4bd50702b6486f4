#!/usr/bin/env bash
# Data owner: sign, check, submit a bundle and check its inclusion in the log (after contribute.sh's
# training, or examples/pytorch/contribute.sh's import of an expert trained with PyTorch).
source "$(dirname "$0")/../common.sh"
ORG=${1:?usage: upload.sh ORG BUNDLE_DIR}
BUNDLE=${2:?usage: upload.sh ORG BUNDLE_DIR}
HOME_DIR=$WORK/owners/$ORG

# 1. Sign and check the bundle (for this deployment only: its log origin), then look at what will be uploaded.
run sign "$BUNDLE" --key "$HOME_DIR/keys/$ORG.key" --origin "$ORIGIN"
run verify "$BUNDLE" --pubkey "$HOME_DIR/keys/$ORG.pub"
run inspect "$BUNDLE"

# 2. Submit: the server checks the envelope before it reads the weights, then verifies and logs the
#    bundle; the log entry must hold this very envelope, and its inclusion proof is checked against
#    the signed checkpoint, with the log key pinned (the log index is kept for opt-out.sh).
run submit --server "$SERVER" --log-key "$WORK/server/log.pub" "$BUNDLE" --json | tee "$HOME_DIR/submission.json"
run verify-inclusion --server "$SERVER" --log-key "$WORK/server/log.pub" "$BUNDLE"
