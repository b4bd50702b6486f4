#!/usr/bin/env bash
# The price of DP-SGD on SmolLM2-135M (issue 29), release build:
#   benchmarks/dp-quality.sh   # DOMAINS="locales linux-uapi perl" EPSILONS="8 1" RANK=4 BATCH=64 STEPS=10 PUBLIC_EVERY=5 SEQ=128 LR=1e-2 FULL_AT=8
#   RUNS="lora:none lora:8 full:8" replaces each domain's list of runs (KIND:ε); FULL_AT= (empty) drops the full row.
# For each domain, every file of its package (the counts are printed) minus a held-out split (by content
# hash, --held-out 0.1, EVAL_BYTES of it evaluated): a LoRA expert trained without DP and with DP-SGD at
# each ε (the composed total of training and signature, δ = 1e-6), and on the first domain a full expert at
# ε = FULL_AT. Every run has the same token budget: STEPS × BATCH windows of SEQ tokens (BATCH is the
# expected batch with DP: q = BATCH / documents), PUBLIC_EVERY-th steps replay public text (no privacy
# spent). Prints held-out bits per byte (anchor, with expert, gain), the gain kept against no DP, q, the
# private steps, σ and the per-step noise-to-signal bound σ·C·√(trained parameters) / (q·N).
source "$(dirname "$0")/common.sh"
bench_build tributary tributary-dev
bin=.build/release/tributary
anchor=$(smollm2_anchor)
DOMAINS=${DOMAINS:-"locales linux-uapi perl"}; EPSILONS=${EPSILONS:-"8 1"}; RANK=${RANK:-4}; BATCH=${BATCH:-64}
STEPS=${STEPS:-10}; PUBLIC_EVERY=${PUBLIC_EVERY:-5}; SEQ=${SEQ:-128}; LR=${LR:-1e-2}; FULL_AT=${FULL_AT-8}
LR_FULL=${LR_FULL:-2e-3}; EVAL_BYTES=${EVAL_BYTES:-15000}; DOC_BYTES=${DOC_BYTES:-8192}; SEED=${SEED:-1}
work=.bench/dp-quality
mkdir -p "$work/run"
# Every file of each package (the largest has 763; the corpus takes at most this many per domain).
[ -d "$work/corpora/public" ] || .build/release/tributary-dev prepare-corpora --workdir "$work" --documents 2000 >/dev/null
results="$work/results-$(date +%Y%m%d-%H%M%S).jsonl"
first=${DOMAINS%% *}
for domain in $DOMAINS; do
  echo "$domain: $(find "$work/corpora/$domain" -type f | wc -l) documents" >&2
  runs="lora:none"; for e in $EPSILONS; do runs="$runs lora:$e"; done
  [ "$domain" = "$first" ] && [ -n "$FULL_AT" ] && runs="$runs full:$FULL_AT"
  runs=${RUNS:-$runs}
  for run in $runs; do
    kind=${run%%:*}; eps=${run#*:}
    if [ "$kind" = full ]; then lr=$LR_FULL; expert=(--lr "$lr"); else lr=$LR; expert=(--expert-kind lora --lora-rank "$RANK" --lr "$lr"); fi
    if [ "$eps" = none ]; then privacy=(--no-dp); else privacy=(--dp-sgd --epsilon "$eps"); fi
    out="$work/run/$domain-$kind-$eps-b$BATCH-s$STEPS-lr$lr"
    t0=$(date +%s)
    "$bin" train --anchor "$anchor" --data "$work/corpora/$domain" --public-text "$work/corpora/public" --out "$out" \
      --steps "$STEPS" --batch "$BATCH" --seq-len "$SEQ" --warmup 1 --expert-layers 22-29 --public-every "$PUBLIC_EVERY" --seed "$SEED" \
      --max-document-bytes "$DOC_BYTES" --held-out 0.1 --eval-bytes "$EVAL_BYTES" --min-self-routing 0 --restart --quiet --json \
      "${expert[@]}" "${privacy[@]}" > "$out.json"
    seconds=$(( $(date +%s) - t0 ))
    .venv/bin/python - "$out.json" "$domain" "$kind" "$eps" "$seconds" "$out/bundle/expert.safetensors" "$lr" >> "$results" <<'PY'
import json, math, sys
from safetensors import safe_open
r = json.load(open(sys.argv[1]))
h, p = r["heldOutBitsPerByte"], r.get("trainingPrivacy")
with safe_open(sys.argv[6], "numpy") as f:
    trained = sum(math.prod(f.get_slice(k).get_shape()) for k in f.keys())
row = {"domain": sys.argv[2], "kind": sys.argv[3], "epsilon": sys.argv[4], "lr": float(sys.argv[7]), "documents": r.get("documents"), "anchorBPB": h["anchor"],
       "expertBPB": h["expert"], "gain": h["anchor"] - h["expert"], "seconds": int(sys.argv[5]), "trainedParameters": trained}
if p:
    row.update({"samplingRate": p["samplingRate"], "privateSteps": p["privateSteps"], "noiseMultiplier": p["noiseMultiplier"],
                "composedEpsilon": p["epsilon"], "noiseToSignal": p["noiseMultiplier"] * math.sqrt(trained) / (p["samplingRate"] * r["documents"])})
print(json.dumps(row))
PY
    tail -1 "$results"
  done
done
# Every run so far (all results files), the gain kept against the same domain's LoRA run without DP.
.venv/bin/python - "$work"/results-*.jsonl <<'PY'
import json, sys
rows = [json.loads(l) for f in sys.argv[1:] for l in open(f)]
base = {r["domain"]: r["gain"] for r in rows if r["epsilon"] == "none" and r["kind"] == "lora"}
print(f"{'domain':11} {'kind':5} {'ε':>5} {'lr':>7} {'docs':>5} {'anchor':>7} {'expert':>7} {'gain':>8} {'kept':>6} {'q':>6} {'steps':>5} {'σ':>6} {'noise/signal':>12} {'s':>5}")
for r in rows:
    kept = r["gain"] / base[r["domain"]] if base.get(r["domain"]) else float("nan")
    dp = (f"{r['samplingRate']:6.3f} {r['privateSteps']:5d} {r['noiseMultiplier']:6.2f} {r['noiseToSignal']:12.1f}" if "samplingRate" in r
          else f"{'':6} {'':5} {'':6} {'':12}")
    print(f"{r['domain']:11} {r['kind']:5} {r['epsilon']:>5} {r.get('lr', float('nan')):7.0e} {r['documents'] or 0:5d} {r['anchorBPB']:7.4f} {r['expertBPB']:7.4f} {r['gain']:8.4f} {kept:6.2f} {dp} {r['seconds']:5d}")
PY
echo "results: $results"
