"""PEFT applied to the anchor against Tributary's materialised LoRA expert (scripts/interop/peft-lora.sh).

    python peft_lora.py ANCHOR_DIR WORK TOKENS

Loads the anchor with transformers, applies WORK/peft with peft.PeftModel, compares its logits with
WORK/ours-lora.safetensors (Tributary's anchor with the expert as its FFN) and, as the yardstick, the
plain anchor's logits with WORK/ours-anchor.safetensors. Saves PEFT's own copy of the adapter into
WORK/peft-saved for the import check. Exits 1 when the LoRA gap exceeds 4x the anchor's own gap
(floor 1e-4): materialising in F32 may reorder a few roundings, not change the function.
"""
import json
import sys

import numpy as np
import torch
from peft import PeftModel
from safetensors.numpy import load_file
from transformers import AutoModelForCausalLM

anchor, work, tokens = sys.argv[1], sys.argv[2], [int(t) for t in sys.argv[3].split(",")]
ids = torch.tensor([tokens])
torch.set_num_threads(2)


def logits(model):
    model.eval()
    with torch.no_grad():
        return model(ids).logits[0].double().numpy()


base = AutoModelForCausalLM.from_pretrained(anchor, dtype=torch.float32)
hf_anchor = logits(base)
peft = PeftModel.from_pretrained(base, f"{work}/peft")
hf_lora = logits(peft)
peft.save_pretrained(f"{work}/peft-saved")
ours_anchor = load_file(f"{work}/ours-anchor.safetensors")["logits"].astype(np.float64)
ours_lora = load_file(f"{work}/ours-lora.safetensors")["logits"].astype(np.float64)
anchor_gap = float(np.abs(ours_anchor - hf_anchor).max())
lora_gap = float(np.abs(ours_lora - hf_lora).max())
effect = float(np.abs(hf_lora - hf_anchor).max())
out = {"tokens": len(tokens), "maxAbsDiff": {"anchor_tributary_vs_transformers": anchor_gap,
                                             "lora_tributary_vs_peft": lora_gap},
       "loraEffectOnLogits": effect, "logitScale": float(np.abs(hf_anchor).max()),
       "argmaxAgreement": float((ours_lora.argmax(-1) == hf_lora.argmax(-1)).mean())}
print(json.dumps(out, indent=1))
ok = lora_gap <= max(4 * anchor_gap, 1e-4) and effect > 10 * lora_gap
sys.exit(0 if ok else 1)
