"""Decoding speed of the same SmolLM2 weights in PyTorch (transformers, F32, KV cache) and llama.cpp
(llama-cpp-python, the anchor exported as F32 GGUF by `tributary export`), for benchmarks/smollm2.sh.

  decode_reference.py torch ANCHOR_DIR THREADS TOKENS BATCH
  decode_reference.py llama GGUF THREADS TOKENS

Each prints one JSON line: decode tokens/s for one prompt (greedy, the prompt fed first and not
timed), and for torch also BATCH prompts decoded together (tokens/s over all of them) and peak RSS.
"""
import json, resource, sys, time

PROMPT = [1, 504, 3458, 282, 260, 1789, 314, 253, 2040, 28, 284, 260, 1306, 1485, 30]  # any 15 ids in range


def torch_decode(anchor, threads, tokens, batch):
    import torch
    from transformers import AutoModelForCausalLM
    torch.set_num_threads(threads)
    model = AutoModelForCausalLM.from_pretrained(anchor, dtype=torch.float32).eval()

    def rate(rows):
        ids = torch.tensor([PROMPT] * rows)
        with torch.inference_mode():
            out = model(ids, use_cache=True)
            past, nxt = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
            t0 = time.perf_counter()
            for _ in range(tokens):
                out = model(nxt, past_key_values=past, use_cache=True)
                past, nxt = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
            return rows * tokens / (time.perf_counter() - t0)

    rate(1)  # warm
    one = max(rate(1) for _ in range(2))
    many = rate(batch)
    print(json.dumps({"engine": "torch", "torch": torch.__version__, "threads": threads, "onePrompt": one, "batch": batch,
                      "batched": many, "peakRSSMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def llama_decode(gguf, threads, tokens):
    import numpy as np
    import llama_cpp
    from llama_cpp import Llama
    llm = Llama(model_path=gguf, n_ctx=512, n_batch=512, n_threads=threads, n_threads_batch=threads, logits_all=True,
                verbose=False, type_k=0, type_v=0)

    def rate():
        llm.reset()
        llm.eval(PROMPT)
        t = 0.0
        for _ in range(tokens):
            nxt = int(np.argmax(llm.scores[llm.n_tokens - 1]))
            s = time.perf_counter()
            llm.eval([nxt])
            t += time.perf_counter() - s
        return tokens / t

    rate()  # warm
    print(json.dumps({"engine": "llama.cpp", "version": llama_cpp.__version__, "threads": threads, "onePrompt": max(rate() for _ in range(2)),
                      "peakRSSMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    if sys.argv[1] == "torch":
        torch_decode(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        llama_decode(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
