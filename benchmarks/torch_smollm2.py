"""PyTorch reference for SmolLM2-135M on the CPU, against `tributary-dev bench-train --anchor` and
`bench-eval`: the same anchor directory (loaded by transformers' LlamaForCausalLM), batch, sequence
length and trained layers.

    python torch_smollm2.py --anchor DIR --mode train|eval [--layers 22-29] [--batch 8] [--seq 256]

train: FlexOlmo expert training. The MLP of each expert layer becomes a 2-expert block: a router
       Linear(C, 2) whose row 0 is frozen (a hook zeroes its gradient) and row 1 trains, the anchor's
       MLP (frozen) and a trainable copy, both always active (top-2 of 2, softmax weights). Everything
       else is frozen (requires_grad=False, so autograd stops below the lowest expert layer). AdamW
       without weight decay, gradient clipping at 1, as Tributary.
eval:  forward only under torch.no_grad().
Prints one JSON line: tokens/s (best of --repeats timed runs) and peak RSS.
"""
import argparse, copy, json, resource, time
import torch
import torch.nn as nn
import torch.nn.functional as F
from transformers import AutoModelForCausalLM

p = argparse.ArgumentParser()
p.add_argument("--anchor", required=True)
p.add_argument("--mode", choices=["train", "eval"], required=True)
p.add_argument("--layers", default="22-29")
p.add_argument("--threads", type=int, default=2)
p.add_argument("--batch", type=int, default=8)
p.add_argument("--seq", type=int, default=256)
p.add_argument("--steps", type=int, default=5)
p.add_argument("--warmup", type=int, default=1)
p.add_argument("--repeats", type=int, default=2)
a = p.parse_args()
torch.manual_seed(1)
torch.set_num_threads(a.threads)
model = AutoModelForCausalLM.from_pretrained(a.anchor, dtype=torch.float32)
lo, hi = (int(x) for x in a.layers.split("-"))


class FlexOlmoMLP(nn.Module):
    def __init__(self, mlp, hidden):
        super().__init__()
        self.anchor = mlp
        self.expert = copy.deepcopy(mlp)
        self.router = nn.Linear(hidden, 2, bias=False)
        nn.init.normal_(self.router.weight, std=0.02)
        for prm in self.anchor.parameters():
            prm.requires_grad = False
        self.router.weight.register_hook(lambda g: torch.cat([torch.zeros_like(g[:1]), g[1:]]))

    def forward(self, x):
        w = F.softmax(self.router(x), dim=-1)
        return w[..., :1] * self.anchor(x) + w[..., 1:] * self.expert(x)


for prm in model.parameters():
    prm.requires_grad = False
if a.mode == "train":
    for l in range(lo, hi + 1):
        layer = model.model.layers[l]
        layer.mlp = FlexOlmoMLP(layer.mlp, model.config.hidden_size)
    params = [prm for prm in model.parameters() if prm.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.95), weight_decay=0.0)
    model.train()
else:
    model.eval()

g = torch.Generator().manual_seed(2)
data = torch.randint(0, 32000, (a.batch * (a.threads if a.mode == "eval" else 1), a.seq + 1), generator=g)
inputs, targets = data[:, :-1], data[:, 1:]


def step():
    if a.mode == "eval":
        with torch.no_grad():
            model(input_ids=inputs)
        return
    logits = model(input_ids=inputs).logits
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)


for _ in range(a.warmup):
    step()
best = float("inf")
for _ in range(a.repeats):
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    best = min(best, time.perf_counter() - t0)
print(json.dumps({"mode": a.mode, "tokensPerSecond": a.steps * inputs.numel() / best, "torch": torch.__version__,
                  "threads": torch.get_num_threads(), "peakRSSMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
