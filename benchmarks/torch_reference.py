"""PyTorch reference for the training-throughput benchmark: the same small model, batch, sequence length
and optimiser as `tributary-dev bench-train`, with Hugging Face transformers' own Llama and Mixtral
classes on the CPU.

    python torch_reference.py --mode dense|expert [--threads 2] [--steps 10]

dense:  LlamaForCausalLM, every parameter trains, AdamW (weight decay 0.1).
expert: MixtralForCausalLM with 2 experts (top-2); only expert 1 and the router train (FlexOlmo);
        AdamW without weight decay. Frozen parameters have requires_grad=False, so autograd skips them.
        transformers 5 stores a layer's experts as one fused tensor, so expert 0's slice gets a weight
        gradient computed and then zeroed by a hook: that is how this library trains one expert of a
        fused MoE, and the extra work is part of what we compare against.
Prints one JSON line: tokens/s (best of --repeats timed runs).
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F
from transformers import LlamaConfig, LlamaForCausalLM, MixtralConfig, MixtralForCausalLM

p = argparse.ArgumentParser()
p.add_argument("--mode", choices=["dense", "expert"], required=True)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--steps", type=int, default=10)
p.add_argument("--warmup", type=int, default=3)
p.add_argument("--repeats", type=int, default=3)
p.add_argument("--batch", type=int, default=32)
p.add_argument("--seq", type=int, default=128)
a = p.parse_args()

torch.manual_seed(1)
torch.set_num_threads(a.threads)
common = dict(vocab_size=258, hidden_size=128, intermediate_size=384, num_hidden_layers=4, num_attention_heads=4,
              num_key_value_heads=4, max_position_embeddings=a.seq, rms_norm_eps=1e-5, tie_word_embeddings=False)
if a.mode == "dense":
    model = LlamaForCausalLM(LlamaConfig(**common))
    params = list(model.parameters())
    opt = torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)
else:
    model = MixtralForCausalLM(MixtralConfig(**common, num_local_experts=2, num_experts_per_tok=2, router_aux_loss_coef=0.0))
    for name, prm in model.named_parameters():
        fused = ".mlp.experts." in name                      # [E, ...] fused experts (transformers >= 5)
        legacy = ".experts.1." in name                       # one tensor per expert (transformers 4)
        gate = name.endswith("mlp.gate.weight") or name.endswith("block_sparse_moe.gate.weight")
        prm.requires_grad = fused or legacy or gate
        if fused:
            prm.register_hook(lambda grad: torch.cat([torch.zeros_like(grad[:1]), grad[1:]]))
    params = [prm for prm in model.parameters() if prm.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.95), weight_decay=0.0)
model.train()
trainable = sum(prm.numel() for prm in params)

g = torch.Generator().manual_seed(2)
data = torch.randint(0, 256, (a.batch, a.seq + 1), generator=g)
inputs, targets = data[:, :-1], data[:, 1:]


def step():
    logits = model(input_ids=inputs).logits
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    return loss.item()


for _ in range(a.warmup):
    step()
best = float("inf")
for _ in range(a.repeats):
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    best = min(best, time.perf_counter() - t0)
print(json.dumps({"mode": a.mode, "tokensPerSecond": a.steps * a.batch * a.seq / best, "trainableParameters": trainable,
                  "torch": torch.__version__, "threads": torch.get_num_threads()}))
