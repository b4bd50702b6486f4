"""Reference logits for a Tributary model directory, to check our engine against implementations we did not write.

    python llama_reference.py numpy DIR TOKENS          # an independent numpy Llama/Mixtral forward pass
    python llama_reference.py transformers DIR TOKENS   # Hugging Face transformers' own model classes

TOKENS is a comma-separated list of token ids. Prints {"logits": [[...], ...]} (one row per position).
The numpy path needs only numpy and safetensors, so CI runs it; the transformers path needs torch and
transformers (benchmarks/setup-torch.sh installs them) and is run on demand.
"""
import json
import sys

import numpy as np


def numpy_forward(directory, tokens):
    from safetensors.numpy import load_file

    cfg = json.load(open(f"{directory}/config.json"))
    w = load_file(f"{directory}/model.safetensors")
    C, H = cfg["hidden_size"], cfg["num_attention_heads"]
    KV = cfg.get("num_key_value_heads") or H
    hd = cfg.get("head_dim") or C // H
    eps, theta = cfg["rms_norm_eps"], cfg["rope_theta"]
    T = len(tokens)

    def rms(x, weight):
        x64 = x.astype(np.float64)
        return (x64 / np.sqrt((x64 ** 2).mean(-1, keepdims=True) + eps) * weight).astype(np.float64)

    def silu(x):
        return x / (1 + np.exp(-x))

    inv = 1.0 / theta ** (np.arange(0, hd, 2) / hd)
    ang = np.outer(np.arange(T), inv)
    cos, sin = np.cos(np.concatenate([ang, ang], -1)), np.sin(np.concatenate([ang, ang], -1))

    def rope(x):  # x [H, T, hd]; rotate_half over the two halves of each head
        half = hd // 2
        rot = np.concatenate([-x[..., half:], x[..., :half]], -1)
        return x * cos + rot * sin

    def mlp(x, w1, w2, w3):
        return (silu(x @ w1.T) * (x @ w3.T)) @ w2.T

    x = w["model.embed_tokens.weight"][tokens].astype(np.float64)
    mask = np.triu(np.full((T, T), -np.inf), 1)
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rms(x, w[p + "input_layernorm.weight"])
        q, k, v = (h @ w[p + f"self_attn.{n}_proj.weight"].T for n in "qkv")
        q = q.reshape(T, H, hd).transpose(1, 0, 2)
        # Grouped-query attention: each key/value head serves H / KV consecutive query heads.
        k, v = (np.repeat(a.reshape(T, KV, hd).transpose(1, 0, 2), H // KV, axis=0) for a in (k, v))
        q, k = rope(q), rope(k)
        s = q @ k.transpose(0, 2, 1) / np.sqrt(hd) + mask
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        o = (s @ v).transpose(1, 0, 2).reshape(T, H * hd)
        x = x + o @ w[p + "self_attn.o_proj.weight"].T
        h = rms(x, w[p + "post_attention_layernorm.weight"])
        if cfg["model_type"] == "mixtral":
            E, k_top = cfg["num_local_experts"], cfg["num_experts_per_tok"]
            logits = h @ w[p + "block_sparse_moe.gate.weight"].T
            probs = np.exp(logits - logits.max(-1, keepdims=True))
            probs /= probs.sum(-1, keepdims=True)
            out = np.zeros_like(h)
            for t in range(T):
                top = np.argsort(-probs[t], kind="stable")[:k_top]
                g = probs[t, top] / probs[t, top].sum()
                for gi, e in zip(g, top):
                    q_ = p + f"block_sparse_moe.experts.{e}."
                    out[t] += gi * mlp(h[t:t + 1], w[q_ + "w1.weight"], w[q_ + "w2.weight"], w[q_ + "w3.weight"])[0]
            x = x + out
        else:
            x = x + mlp(h, w[p + "mlp.gate_proj.weight"], w[p + "mlp.down_proj.weight"], w[p + "mlp.up_proj.weight"])
    x = rms(x, w["model.norm.weight"])
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else w["lm_head.weight"]
    return x @ head.T


def transformers_forward(directory, tokens):
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(directory, torch_dtype=torch.float32)
    model.eval()
    with torch.no_grad():
        return model(torch.tensor([tokens])).logits[0].double().numpy()


if __name__ == "__main__":
    mode, directory, toks = sys.argv[1], sys.argv[2], [int(t) for t in sys.argv[3].split(",")]
    logits = {"numpy": numpy_forward, "transformers": transformers_forward}[mode](directory, toks)
    print(json.dumps({"logits": logits.tolist()}))
