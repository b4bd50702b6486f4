"""Scores the demo's held-out windows with Hugging Face transformers and prints them beside Tributary's.

    python release_transformers.py WINDOWS.json

WINDOWS.json comes from `tributary-dev held-out-windows` (the exact token windows Tributary scores,
per domain, with Tributary's bits per byte for each model directory). Each directory is loaded with
`AutoModelForCausalLM` as a standard runtime loads it — a release as `MixtralForCausalLM`, top-2 over
its router rows, with nothing from Tributary — and scored on the same ids. Exits 1 when a value
differs from Tributary's by more than TOLERANCE bits per byte.
Needs the torch/transformers virtualenv from benchmarks/setup-torch.sh (not part of CI: ~5 GB).
"""
import json
import math
import sys
import time

import torch
from transformers import AutoModelForCausalLM
from transformers.utils import logging as hf_logging

# Logits of the two runtimes agree to 1.2e-4 on SmolLM2 (benchmarks/README.md); summing thousands of float32
# log-probabilities in different orders moves a mean by far less than 1e-3 bits per byte.
TOLERANCE = 1e-3


def bits_per_byte(model, domain):
    nats = 0.0
    with torch.no_grad():
        for w in domain["windows"]:
            ids = torch.tensor([w["inputs"]])
            logp = torch.log_softmax(model(ids).logits[0].double(), -1)
            nats -= logp[torch.arange(len(w["targets"])), torch.tensor(w["targets"])].sum().item()
    return nats / math.log(2) / domain["bytes"]


def main():
    data = json.load(open(sys.argv[1]))
    domains = data["domains"]
    models = [s["model"] for s in domains[0]["tributary"]]
    hf_logging.disable_progress_bar()
    worst = 0.0
    print(f"{'model':<48} " + " ".join(f"{d['name']:>24}" for d in domains))
    print(f"{'':<48} " + " ".join(f"{'tributary / transformers':>24}" for _ in domains))
    for i, path in enumerate(models):
        t0 = time.time()
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        model.eval()
        cells = []
        for d in domains:
            ours = float(d["tributary"][i]["bitsPerByte"])
            theirs = bits_per_byte(model, d)
            worst = max(worst, abs(ours - theirs))
            cells.append(f"{ours:.4f} / {theirs:.4f}")
        # The last two path components name the model (anchor, owners/ORG/model, releases/N).
        name = "/".join(path.rstrip("/").split("/")[-2:]) + f" ({type(model).__name__.replace('ForCausalLM', '')})"
        print(f"{name[-48:]:<48} " + " ".join(f"{c:>24}" for c in cells) + f"   {time.time() - t0:.0f} s")
        del model
    print(f"largest |tributary - transformers|: {worst:.2e} bits per byte (tolerance {TOLERANCE:g})")
    sys.exit(0 if worst <= TOLERANCE else 1)


if __name__ == "__main__":
    main()
