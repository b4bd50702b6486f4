"""Logit parity of Tributary's imported SmolLM2 against Hugging Face transformers (run by
benchmarks/smollm2-parity.sh, which writes Tributary's logits first).

  python smollm2_parity.py ANCHOR_DIR GGUF_FILE TOKENS OURS.safetensors

Loads the same token ids three ways: transformers on Tributary's anchor directory (safetensors in
transformers' layout, tokenizer.json), transformers on the original GGUF file (its own dequantisation
and q/k un-permutation), and Tributary's logits. Prints max |Δlogit| for each pair, the argmax
agreement, and the cross-entropy of each in bits per token, plus tokenizer agreement (AutoTokenizer
on the anchor directory against the ids Tributary produced).
"""
import json, os, sys
import numpy as np
import torch
from safetensors.numpy import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

anchor, gguf, tokens, ours_path = sys.argv[1], sys.argv[2], [int(t) for t in sys.argv[3].split(",")], sys.argv[4]
torch.set_num_threads(2)
ids = torch.tensor([tokens])

def logits(model):
    model.eval()
    with torch.no_grad():
        return model(ids).logits[0].double().numpy()

ours = load_file(ours_path)["logits"].astype(np.float64)
hf_dir = logits(AutoModelForCausalLM.from_pretrained(anchor, dtype=torch.float32))
hf_gguf = logits(AutoModelForCausalLM.from_pretrained(os.path.dirname(gguf), gguf_file=os.path.basename(gguf), dtype=torch.float32))

def ce_bits(l):
    l = l[:-1]
    m = l.max(-1, keepdims=True)
    lse = (np.log(np.exp(l - m).sum(-1)) + m[:, 0])
    return float((lse - l[np.arange(len(l)), tokens[1:]]).mean() / np.log(2))

out = {
    "tokens": len(tokens),
    "maxAbsDiff": {
        "tributary_vs_transformers_on_anchor_dir": float(np.abs(ours - hf_dir).max()),
        "tributary_vs_transformers_on_gguf": float(np.abs(ours - hf_gguf).max()),
        "transformers_anchor_dir_vs_gguf": float(np.abs(hf_dir - hf_gguf).max()),
    },
    "argmaxAgreement": {
        "tributary_vs_transformers_on_anchor_dir": float((ours.argmax(-1) == hf_dir.argmax(-1)).mean()),
        "tributary_vs_transformers_on_gguf": float((ours.argmax(-1) == hf_gguf.argmax(-1)).mean()),
    },
    "bitsPerToken": {"tributary": ce_bits(ours), "transformers_anchor_dir": ce_bits(hf_dir), "transformers_gguf": ce_bits(hf_gguf)},
    "logitScale": float(np.abs(hf_dir).max()),
}
tok = AutoTokenizer.from_pretrained(anchor)
text = open(os.environ["PARITY_TEXT"], encoding="utf-8", errors="replace").read()
out["tokenizerAgreement"] = tok(text, add_special_tokens=False)["input_ids"] == json.loads(os.environ["PARITY_IDS"])
print(json.dumps(out, indent=1))
