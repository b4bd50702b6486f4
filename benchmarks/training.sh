#!/usr/bin/env bash
# Training throughput of Tributary against PyTorch (transformers' Llama/Mixtral) on the same model,
# batch and sequence length, measured in one run on this machine; plus model-FLOP utilisation against
# this machine's measured cblas_sgemm peak and Tributary's peak memory.
#   benchmarks/training.sh            (release build; installs torch into .venv-bench on first use)
source "$(dirname "$0")/common.sh"
bench_build tributary-dev
benchmarks/setup-torch.sh
bin=.build/release/tributary-dev
py=.venv-bench/bin/python
threads=${THREADS:-2}
out=$(bench_scratch training); bench_keep "$out"
"$bin" bench-sgemm --threads "$threads" --json > "$out/sgemm.json"
for mode in dense expert; do
  for i in 1 2 3; do
    "$bin" bench-train --mode "$mode" --threads "$threads" --json >> "$out/ours-$mode.json"
    "$py" benchmarks/torch_reference.py --mode "$mode" --threads "$threads" >> "$out/torch-$mode.json"
  done
done
"$py" - "$out" <<'PY'
import json, os, sys, platform
d = sys.argv[1]
load = lambda f: [json.loads(l) for l in open(os.path.join(d, f)) if l.strip()]
sg = load("sgemm.json")[0]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"machine: {cpu}, {os.cpu_count()} cores; OpenBLAS core {sg['core']}")
print(f"cblas_sgemm 512^3 peak: {sg['singleThread']:.0f} GFLOP/s on 1 thread, {sg['allThreads']:.0f} GFLOP/s on {sg['threads']} (MFU baseline)")
print(f"{'mode':8} {'Tributary tok/s':>16} {'PyTorch tok/s':>14} {'ratio':>6} {'GFLOP/s':>8} {'MFU':>6} {'peak RSS':>9}")
for mode in ["dense", "expert"]:
    ours = max(load(f"ours-{mode}.json"), key=lambda r: r["tokensPerSecond"])
    torch = max(load(f"torch-{mode}.json"), key=lambda r: r["tokensPerSecond"])
    gf = ours["gflops"]
    print(f"{mode:8} {ours['tokensPerSecond']:16,.0f} {torch['tokensPerSecond']:14,.0f} {ours['tokensPerSecond']/torch['tokensPerSecond']:6.2f} "
          f"{gf:8.1f} {100*gf/sg['allThreads']:5.1f}% {ours['peakRSSMiB']:7.0f} MiB")
print(f"(best of 3 runs each; PyTorch {torch['torch']}, {torch['threads']} threads; small config: d=128, 4 layers, 4 heads, FFN 384, context 128, batch 32)")
PY
rm -rf "$out"
