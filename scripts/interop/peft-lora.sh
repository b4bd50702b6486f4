#!/usr/bin/env bash
# LoRA experts against Hugging Face PEFT (release build; torch, transformers and peft in .venv-bench):
#   scripts/interop/peft-lora.sh
# Trains a small LoRA expert on the imported SmolLM2-135M (layers 28-29, rank 8, a few steps on C
# headers), exports it as a PEFT adapter, and checks with the real `peft` package that
#  1. PEFT's LoRA on the anchor in transformers gives the logits of Tributary's "anchor with the expert
#     as its FFN" (the materialised release arithmetic), within 4x the anchor's own parity gap;
#  2. the adapter PEFT itself saves (save_pretrained) imports back to the same factors, bit for bit.
source "$(dirname "$0")/../../benchmarks/common.sh"
bench_build tributary tributary-dev
benchmarks/setup-torch.sh
bin=.build/release/tributary
anchor=$(smollm2_anchor)
work=$(bench_scratch peft); bench_keep "$work"
mkdir -p "$work/data"
i=0
for f in /usr/include/linux/*.h; do cp "$f" "$work/data/$i.h"; i=$((i + 1)); [ $i -ge 200 ] && break; done
"$bin" train --anchor "$anchor" --data "$work/data" --out "$work/owner" --expert-kind lora --lora-rank 8 --expert-layers 28-29 \
  --steps 4 --batch 2 --seq-len 128 --warmup 1 --lr 1e-2 --no-dp --min-self-routing 0 --eval-bytes 0 --quiet
"$bin" adapter export --bundle "$work/owner/bundle" --anchor "$anchor" --out "$work/peft" --dense-model "$work/dense"
tokens=$(.venv-bench/bin/python -c 'import random; random.seed(5); print(",".join(str(random.randrange(1, 49152)) for _ in range(64)))')
.build/release/tributary-dev logits --model "$work/dense" --tokens "$tokens" --out "$work/ours-lora.safetensors"
.build/release/tributary-dev logits --model "$anchor" --tokens "$tokens" --out "$work/ours-anchor.safetensors"
.venv-bench/bin/python scripts/interop/peft_lora.py "$anchor" "$work" "$tokens"
"$bin" adapter import --adapter "$work/peft-saved" --anchor "$anchor" --out "$work/imported"
.venv-bench/bin/python - "$work" <<'PY'
import sys
import numpy as np
from safetensors.numpy import load_file
w = sys.argv[1]
ours, back = load_file(f"{w}/owner/bundle/expert.safetensors"), load_file(f"{w}/imported/expert.safetensors")
assert sorted(ours) == sorted(back), (sorted(ours), sorted(back))
bad = [k for k in ours if ours[k].tobytes() != back[k].tobytes()]
print(f"PEFT save_pretrained -> tributary adapter import: {len(ours)} factor tensors, {len(bad)} differ")
sys.exit(1 if bad else 0)
PY
