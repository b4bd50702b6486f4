#!/usr/bin/env bash
# Data owner with its own trainer: train the FlexOlmo expert with PyTorch + transformers
# (train_expert.py; CUDA when present), import it with `tributary contribute` (checks every frozen
# tensor against the anchor, releases the DP routing signature from DATA_DIR), then sign and submit
# it like a natively trained expert. DATA_DIR never leaves this machine.
#   PYTHON        a Python with torch, transformers, safetensors and tokenizers (benchmarks/setup-torch.sh
#                 makes .venv-bench); EXPERT_STEPS, EXPERT_LAYERS, BATCH, SEQ_LEN, DTYPE as for the trainer
source "$(dirname "$0")/../common.sh"
ORG=${1:?usage: contribute.sh ORG DATA_DIR}
DATA=${2:?usage: contribute.sh ORG DATA_DIR}
HOME_DIR=$WORK/owners/$ORG
PYTHON=${PYTHON:-.venv-bench/bin/python}

# 1. (keygen.sh made the key pair and the operator enrolled ORG.pub.)
# 2. Train where you train: here PyTorch on this machine's CPU or GPU.
printf '$ %s\n' "$PYTHON examples/pytorch/train_expert.py --anchor $WORK/anchor --data $DATA --out $HOME_DIR/torch ..."
"$PYTHON" "$(dirname "$0")/train_expert.py" --anchor "$WORK/anchor" --data "$DATA" --out "$HOME_DIR/torch" \
  --steps "${EXPERT_STEPS:-300}" --layers "${EXPERT_LAYERS:-all}" --batch "${BATCH:-8}" --seq-len "${SEQ_LEN:-256}" --dtype "${DTYPE:-float32}"

# 3. Import it: the frozen tensors must be the anchor's; then the DP routing signature from DATA.
run contribute --anchor "$WORK/anchor" --checkpoint "$HOME_DIR/torch" --training-summary "$HOME_DIR/torch/training.json" \
  --data "$DATA" --out "$HOME_DIR/contribution" --epsilon 1 ${EXPERT_LAYERS:+--expert-layers "$EXPERT_LAYERS"} ${EVAL_BYTES:+--eval-bytes "$EVAL_BYTES"}

# 4. Sign, check, submit and check inclusion, as for a native expert.
"$(dirname "$0")/../owner/upload.sh" "$ORG" "$HOME_DIR/contribution/bundle"
