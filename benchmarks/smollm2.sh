#!/usr/bin/env bash
# SmolLM2-135M on this machine, Tributary against PyTorch + transformers measured in the same run:
# expert training (layers 22-29, batch 8 x 256 tokens, 2 threads), forward-only evaluation, where
# Tributary's time goes (shares per part of the pass), peak memory of each, greedy decoding (one
# prompt, several together; llama.cpp on the same weights as F32 GGUF when llama-cpp-python is in
# .venv-bench, see scripts/interop/llama-cpp.sh), tokenizer encoding against Hugging Face `tokenizers`
# (Rust, one thread) on the same text, and /v1/route under load (benchmarks/route.sh) when a SmolLM2
# demo run exists in DEMO (.demo). Release build; installs torch into .venv-bench.
#   benchmarks/smollm2.sh
source "$(dirname "$0")/common.sh"
bench_build tributary tributary-dev
benchmarks/setup-torch.sh
bin=.build/release/tributary-dev
py=.venv-bench/bin/python
threads=${THREADS:-2}
anchor=$(smollm2_anchor)
out=$(bench_scratch smollm2); bench_keep "$out"
train=(--batch 8 --seq-len 256 --steps 4 --warmup 1 --threads "$threads")
"$bin" bench-sgemm --threads "$threads" --json > "$out/sgemm.json"
for i in 1 2; do
  "$bin" bench-train --mode expert --anchor "$anchor" --expert-layers 22-29 "${train[@]}" --json >> "$out/ours-train.json"
  "$py" benchmarks/torch_smollm2.py --anchor "$anchor" --mode train --layers 22-29 --batch 8 --seq 256 --steps 4 --repeats 1 --threads "$threads" >> "$out/torch-train.json"
  "$bin" bench-eval --model "$anchor" --batch 4 --seq-len 256 --threads "$threads" --json >> "$out/ours-eval.json"
  "$py" benchmarks/torch_smollm2.py --anchor "$anchor" --mode eval --batch 4 --seq 256 --steps 3 --repeats 2 --threads "$threads" >> "$out/torch-eval.json"
done
"$bin" bench-decode --model "$anchor" --tokens 64 --batches 8 --parts "$threads" --json > "$out/ours-decode.json"
"$py" benchmarks/decode_reference.py torch "$anchor" "$threads" 64 8 > "$out/torch-decode.json"
if "$py" -c 'import llama_cpp' 2>/dev/null; then
  .build/release/tributary export --format gguf --model "$anchor" --out "$out/anchor-f32.gguf" --type f32 >/dev/null 2>&1
  "$py" benchmarks/decode_reference.py llama "$out/anchor-f32.gguf" "$threads" 64 > "$out/llama-decode.json"
fi
"$bin" bench-train --mode expert --anchor "$anchor" --expert-layers 22-29 "${train[@]}" --profile --json > "$out/profile-train.json"
"$bin" bench-eval --model "$anchor" --batch 4 --seq-len 256 --threads "$threads" --profile --json > "$out/profile-eval.json"
# Tokenizer: the same 2 MB of mixed text (licences, Python, C headers, locales) through both.
# (cat stops on the closed pipe once head has its 2 MB: not a failure.)
(cat /usr/share/common-licenses/* /usr/lib/python3.11/{os,typing,argparse,inspect}.py /usr/include/linux/*.h /usr/share/i18n/locales/* \
  2>/dev/null || true) | head -c 2000000 > "$out/text.txt"
"$bin" bench-tokenize --model "$anchor" --file "$out/text.txt" --json > "$out/tok-ours.json"
# Adversarial: 64 KB of random letters is one pre-token, which a merge loop rescanning every pair
# took seconds over (O(n^2)); a heap of merges takes O(n log n), as tokenizers does.
"$py" -c 'import random; random.seed(7); print("".join(random.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(65536)), end="")' > "$out/letters.txt"
"$bin" bench-tokenize --model "$anchor" --file "$out/letters.txt" --json > "$out/tok-ours-letters.json"
# Hugging Face tokenizers on a file, one thread, best of 5 (the same measure as bench-tokenize).
cat > "$out/tokenize_hf.py" <<'PY'
import json, sys, time, tokenizers
tok = tokenizers.Tokenizer.from_file(sys.argv[1])
text = open(sys.argv[2], encoding="utf-8", errors="replace").read()
best, n = float("inf"), 0
for _ in range(5):
    t0 = time.perf_counter(); n = len(tok.encode(text, add_special_tokens=False).ids); best = min(best, time.perf_counter() - t0)
b = len(text.encode("utf-8"))
print(json.dumps({"bytes": b, "tokens": n, "seconds": best, "bytesPerSecond": b / best, "version": tokenizers.__version__}))
PY
for f in text letters; do
  suffix=${f/text/}; suffix=${suffix:+-$suffix}
  RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false "$py" "$out/tokenize_hf.py" "$anchor/tokenizer.json" "$out/$f.txt" > "$out/tok-hf$suffix.json"
done
"$py" - "$out" <<'PY'
import json, os, sys
d = sys.argv[1]
load = lambda f: [json.loads(l) for l in open(os.path.join(d, f)) if l.strip()]
best = lambda f: max(load(f), key=lambda r: r["tokensPerSecond"])
sg = load("sgemm.json")[0]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"machine: {cpu}, {os.cpu_count()} cores; OpenBLAS core {sg['core']}")
print(f"cblas_sgemm 512^3 peak (separate run): {sg['allThreads']:.0f} GFLOP/s on {sg['threads']} threads")
ot, tt = best("ours-train.json"), best("torch-train.json")
# MFU against the peak measured inside the training process itself: the same OpenBLAS core and threads.
if ot["core"] != sg["core"]:
    print(f"  note: training ran on OpenBLAS core {ot['core']}, the separate sgemm run on {sg['core']}: only the in-process baseline is comparable")
print(f"expert training, layers 22-29, batch 8 x 256 (best of 2 runs each):")
print(f"  Tributary {ot['tokensPerSecond']:8.1f} tok/s  {ot['flopsPerToken']/1e6:.0f} MFLOP/token  {ot['gflops']:.1f} GFLOP/s  "
      f"MFU {100*ot['mfu']:.1f}% of {ot['sgemmPeak']:.0f} GFLOP/s measured in the same process ({ot['core']}, {ot['threads']} threads)  peak RSS {ot['peakRSSMiB']:.0f} MiB")
print(f"  PyTorch   {tt['tokensPerSecond']:8.1f} tok/s  (torch {tt['torch']})  peak RSS {tt['peakRSSMiB']:.0f} MiB")
print(f"  ratio Tributary / PyTorch: {ot['tokensPerSecond']/tt['tokensPerSecond']:.2f}x")
oe, te = best("ours-eval.json"), best("torch-eval.json")
print(f"forward-only evaluation, {oe['threads']} x batch 4 x 256:")
print(f"  Tributary {oe['tokensPerSecond']:8.1f} tok/s   PyTorch {te['tokensPerSecond']:8.1f} tok/s   ratio {oe['tokensPerSecond']/te['tokensPerSecond']:.2f}x")
od, td = load("ours-decode.json")[0], load("torch-decode.json")[0]
ob = next(b["tokensPerSecond"] for b in od["batched"] if b["prompts"] == td["batch"])
print(f"greedy decoding, KV cache, F32, {od['parts']} threads (tokens/s; one prompt: one sequence's speed):")
print(f"  Tributary one prompt {od['onePrompt']:6.1f}  ({od['onePrompt']/od['onePromptOneCore']:.2f}x its decoder on one core, {od['onePromptOneCore']:.1f}; "
      f"products read the weights at {od['weightsMB']/od['productsSplitMs']:.1f} GB/s)   {td['batch']} prompts together {ob:6.1f}")
print(f"  PyTorch   one prompt {td['onePrompt']:6.1f}   {td['batch']} prompts together {td['batched']:6.1f}   "
      f"ratio {od['onePrompt']/td['onePrompt']:.2f}x one prompt, {ob/td['batched']:.2f}x batched")
if os.path.exists(os.path.join(d, "llama-decode.json")):
    ld = load("llama-decode.json")[0]
    print(f"  llama.cpp {ld['version']} (F32 GGUF of the same weights) one prompt {ld['onePrompt']:6.1f}   ratio {od['onePrompt']/ld['onePrompt']:.2f}x")
print(f"  a {od['promptTokens']}-token prompt: fed token by token {od['prefillTokenByTokenSeconds']:.2f} s, in passes {od['prefillPassSeconds']:.2f} s")
oe_rss, te_rss = best("ours-eval.json")["peakRSSMiB"], best("torch-eval.json")["peakRSSMiB"]
print("peak RSS, MiB (Tributary / PyTorch, each its own process):")
print(f"  expert training {ot['peakRSSMiB']:6.0f} / {tt['peakRSSMiB']:6.0f} ({ot['peakRSSMiB']/tt['peakRSSMiB']:.2f}x)   "
      f"evaluation {oe_rss:6.0f} / {te_rss:6.0f} ({oe_rss/te_rss:.2f}x)   decoding {od['peakRSSMiB']:6.0f} / {td['peakRSSMiB']:6.0f} ({od['peakRSSMiB']/td['peakRSSMiB']:.2f}x)")
print(f"  Tributary's training memory from the shapes: {ot['memoryEstimate']}")
for name, f in [("training", "profile-train.json"), ("evaluation", "profile-eval.json")]:
    p = load(f)[0]["profile"]
    print(f"where Tributary's {name} time goes (share of the workers' time):")
    for k, v in p.items():
        print(f"  {100*v:5.1f}%  {k}")
to, th = load("tok-ours.json")[0], load("tok-hf.json")[0]
print(f"tokenizer, {to['bytes']:,} bytes, one thread (best of 5):")
print(f"  Tributary {to['bytesPerSecond']/1e6:6.2f} MB/s ({to['tokens']:,} tokens)   tokenizers {th['version']} {th['bytesPerSecond']/1e6:6.2f} MB/s ({th['tokens']:,} tokens)"
      f"   ratio {to['bytesPerSecond']/th['bytesPerSecond']:.2f}x")
to, th = load("tok-ours-letters.json")[0], load("tok-hf-letters.json")[0]
print(f"tokenizer, adversarial: {to['bytes']:,} bytes of random letters (one pre-token), best of 5:")
print(f"  Tributary {1000*to['bytes']/to['bytesPerSecond']:7.1f} ms ({to['tokens']:,} tokens)   tokenizers {1000*th['seconds']:7.1f} ms ({th['tokens']:,} tokens)"
      f"   Tributary takes {th['bytesPerSecond']/to['bytesPerSecond']:.2f}x tokenizers' time (target: within 2x)")
PY
demo=${DEMO:-.demo}
if [ -d "$demo/run/server/releases" ] && grep -q SmolLM2 "$demo/report.md" 2>/dev/null; then
  echo "/v1/route on the demo's SmolLM2 release (benchmarks/route.sh):"
  DEMO="$demo" benchmarks/route.sh 2>/dev/null
else
  echo "/v1/route: no SmolLM2 demo run in $demo (scripts/demo.sh), skipped"
fi
