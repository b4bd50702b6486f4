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
  ${EXPERT_LAYERS:+--expert-layers "$EXPERT_LAYERS"} ${EVAL_BYTES:+--eval-bytes "$EVAL_BYTES"}

# 3. Sign, check, submit and check inclusion.
"$(dirname "$0")/upload.sh" "$ORG" "$HOME_DIR/train/bundle"
