#!/usr/bin/env python3
"""Train a FlexOlmo expert on a Tributary anchor with PyTorch + transformers, for `tributary contribute`.

The recipe (FlexOlmo, Shi et al. 2025): every FFN of the anchor becomes a 2-expert mixture,
expert 0 the anchor's MLP (frozen) and expert 1 a copy of it (trained); the router holds the anchor's
row (frozen) and the expert's row (trained); nothing else trains. What this script saves is
`MixtralForCausalLM.save_pretrained`'s directory, which `tributary contribute --checkpoint OUT` checks
(every frozen tensor must be the anchor's, bit for bit in F32, rounded to nearest even in BF16/F16)
before it releases the routing signature and writes the bundle.

    python examples/pytorch/train_expert.py --anchor ANCHOR --data DIR_OR_FILES... --out OUT \
        [--layers 28-29] [--steps 300] [--batch 8] [--seq-len 256] [--lr 2e-3] [--dtype float32|bfloat16]

ANCHOR is a Tributary anchor directory (config.json, model.safetensors and tokenizer.json as
transformers reads them, plus routing.safetensors with the anchor's router rows). CUDA is used when
present, the CPU otherwise. OUT/training.json is what you state about the run (`--training-summary`).
Runs under `accelerate launch` as well (the model and optimiser go through `Accelerator.prepare`).
"""
import argparse
import json
import math
import os
import random
import sys

import torch
from safetensors.torch import load_file
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM, MixtralConfig, MixtralForCausalLM

try:
    from accelerate import Accelerator
except ImportError:  # plain PyTorch is enough on one device
    Accelerator = None


def parse_layers(text, count):
    if text == "all":
        return list(range(count))
    out = set()
    for part in text.split(","):
        a, _, b = part.partition("-")
        out.update(range(int(a), int(b or a) + 1))
    bad = [l for l in out if not 0 <= l < count]
    if bad:
        sys.exit(f"layers {bad} are not layers of the anchor (0-{count - 1})")
    return sorted(out)


def documents(paths):
    """One file = one document, as Tributary reads private text."""
    files = []
    for p in paths:
        if os.path.isdir(p):
            for root, _, names in os.walk(p):
                files += [os.path.join(root, n) for n in sorted(names)]
        else:
            files.append(p)
    for f in sorted(files):
        with open(f, "rb") as h:
            text = h.read().decode("utf-8", errors="replace")
        if text.strip():
            yield text


def mixtral_config(llama):
    """The anchor's config as a 2-expert Mixtral with both experts active (FlexOlmo trains them mixed)."""
    c = llama.config
    rope_theta = getattr(c, "rope_theta", None) or (getattr(c, "rope_parameters", None) or {}).get("rope_theta")
    return MixtralConfig(
        vocab_size=c.vocab_size, hidden_size=c.hidden_size, intermediate_size=c.intermediate_size,
        num_hidden_layers=c.num_hidden_layers, num_attention_heads=c.num_attention_heads,
        num_key_value_heads=c.num_key_value_heads, head_dim=getattr(c, "head_dim", c.hidden_size // c.num_attention_heads),
        max_position_embeddings=c.max_position_embeddings, rms_norm_eps=c.rms_norm_eps, rope_theta=rope_theta,
        tie_word_embeddings=c.tie_word_embeddings, bos_token_id=c.bos_token_id, eos_token_id=c.eos_token_id,
        num_local_experts=2, num_experts_per_tok=2, sliding_window=None, output_router_logits=False,
        router_aux_loss_coef=0.0, router_jitter_noise=0.0, hidden_act="silu")


class Layout:
    """Where a layer's experts and router live in this transformers version's Mixtral."""

    def __init__(self, model):
        names = dict(model.named_parameters())
        self.fused = "model.layers.0.mlp.experts.gate_up_proj" in names  # transformers >= 5
        self.moe = "mlp" if self.fused or "model.layers.0.mlp.gate.weight" in names else "block_sparse_moe"
        self.names = names

    def router(self, l):
        return self.names[f"model.layers.{l}.{self.moe}.gate.weight"]

    def put_experts(self, l, gate, up, down):
        """Both experts := the anchor's MLP (gate, up [F, H]; down [H, F])."""
        with torch.no_grad():
            if self.fused:
                self.names[f"model.layers.{l}.mlp.experts.gate_up_proj"].copy_(torch.cat([gate, up], 0).expand(2, -1, -1))
                self.names[f"model.layers.{l}.mlp.experts.down_proj"].copy_(down.expand(2, -1, -1))
            else:
                for e in range(2):
                    p = f"model.layers.{l}.block_sparse_moe.experts.{e}"
                    self.names[p + ".w1.weight"].copy_(gate)
                    self.names[p + ".w3.weight"].copy_(up)
                    self.names[p + ".w2.weight"].copy_(down)

    def expert_parameters(self, l):
        """[(parameter, 1 when it holds both experts (expert 1 at index 1), None when it is expert 1's alone)]."""
        if self.fused:
            return [(self.names[f"model.layers.{l}.mlp.experts.{n}"], 1) for n in ("gate_up_proj", "down_proj")]
        return [(self.names[f"model.layers.{l}.block_sparse_moe.experts.1.{w}.weight"], None) for w in ("w1", "w2", "w3")]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--anchor", required=True)
    ap.add_argument("--data", nargs="+", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--layers", default="all", help="anchor layers that get an expert: all, 28-29, 0,4-7")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default="float32",
                    help="weights while training and in the saved checkpoint (frozen tensors are the anchor rounded to it)")
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    random.seed(args.seed)
    accelerator = Accelerator() if Accelerator else None
    device = accelerator.device if accelerator else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dtype = getattr(torch, args.dtype)

    anchor = AutoModelForCausalLM.from_pretrained(args.anchor, dtype=torch.float32)
    rows = load_file(os.path.join(args.anchor, "routing.safetensors"))["router_rows"]  # [L, H], the anchor's router rows
    config = mixtral_config(anchor)
    layers = parse_layers(args.layers, config.num_hidden_layers)

    # The 2-expert model: the anchor's weights everywhere, its MLP as both experts, router rows
    # [anchor's, anchor's] (the expert's row starts at the anchor's and learns where to differ).
    model = MixtralForCausalLM(config)
    layout = Layout(model)
    shared = {k: v for k, v in anchor.state_dict().items() if ".mlp." not in k}
    missing, unexpected = model.load_state_dict(shared, strict=False)
    assert not unexpected, unexpected
    assert all(".mlp." in k or ".block_sparse_moe." in k or k == "lm_head.weight" for k in missing), missing
    for l, layer in enumerate(anchor.model.layers):
        layout.put_experts(l, layer.mlp.gate_proj.weight, layer.mlp.up_proj.weight, layer.mlp.down_proj.weight)
        with torch.no_grad():
            layout.router(l).copy_(rows[l].expand(2, -1))
    del anchor
    model.to(dtype)

    # What trains: expert 1 and its router row in `layers`; a hook zeroes the frozen halves of the
    # tensors both experts share, and the step restores them exactly, whatever the optimiser does.
    for p in model.parameters():
        p.requires_grad_(False)
    trained, count, halves = [], 0, []  # halves: (tensor, its frozen expert-0 part as it must stay)
    zero_first = lambda g: torch.cat([torch.zeros_like(g[:1]), g[1:]], 0)
    for l in layers:
        for p, index in layout.expert_parameters(l) + [(layout.router(l), 1)]:
            p.requires_grad_(True)
            trained.append(p)
            if index is None:
                count += p.numel()
            else:
                p.register_hook(zero_first)
                halves.append((p, p.detach()[0].clone()))
                count += p.numel() // 2
    print(f"training expert 1 in layers {','.join(map(str, layers))}: {count:,} parameters, {args.dtype} on {device}", flush=True)

    tokenizer = Tokenizer.from_file(os.path.join(args.anchor, "tokenizer.json"))
    stream = []
    for text in documents(args.data):
        stream += tokenizer.encode(text, add_special_tokens=False).ids + [config.eos_token_id]
    if len(stream) < args.seq_len + 1:
        sys.exit(f"{len(stream)} tokens of text: fewer than one sequence of {args.seq_len}")
    stream = torch.tensor(stream, dtype=torch.long)

    optimiser = torch.optim.AdamW(trained, lr=args.lr, betas=(0.9, 0.95), weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: min(1.0, (s + 1) / max(1, args.warmup)) *
                                                 0.5 * (1 + math.cos(math.pi * min(s, args.steps) / args.steps)))
    if accelerator:
        model, optimiser = accelerator.prepare(model, optimiser)
    else:
        model.to(device)
    model.train()
    loss = float("nan")
    for step in range(args.steps):
        starts = torch.randint(0, len(stream) - args.seq_len - 1, (args.batch,))
        batch = torch.stack([stream[s:s + args.seq_len] for s in starts]).to(device)
        out = model(input_ids=batch, labels=batch)  # transformers shifts the labels
        optimiser.zero_grad(set_to_none=True)
        (accelerator.backward(out.loss) if accelerator else out.loss.backward())
        optimiser.step()
        schedule.step()
        with torch.no_grad():  # the frozen halves, exactly as they were
            for p, first in halves:
                p[0].copy_(first)
        loss = out.loss.item()
        if step % 10 == 0 or step == args.steps - 1:
            print(f"step {step + 1}/{args.steps}  loss {loss:.4f}", flush=True)

    model = accelerator.unwrap_model(model) if accelerator else model
    os.makedirs(args.out, exist_ok=True)
    model.to("cpu").save_pretrained(args.out, safe_serialization=True)
    summary = {"recipe": "flexolmo-v1", "steps": args.steps, "tokens": args.steps * args.batch * args.seq_len,
               "batchSize": args.batch, "contextLength": args.seq_len, "learningRate": args.lr, "seed": args.seed,
               "finalLoss": loss}
    with open(os.path.join(args.out, "training.json"), "w") as h:
        json.dump(summary, h, indent=2)
    print(f"saved {args.out} (then: tributary contribute --anchor {args.anchor} --checkpoint {args.out} "
          f"--training-summary {args.out}/training.json --data ... --out ...)")


if __name__ == "__main__":
    main()
