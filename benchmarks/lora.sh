#!/usr/bin/env bash
# LoRA experts against full experts on SmolLM2-135M, in the demo's setting (layers 22-29, batch 8 x 256,
# public replay every 4th step), release build:
#   benchmarks/lora.sh            # STEPS=8 SEED=1 DOMAINS="linux-uapi perl locales" RANKS="16" EXTRA_RANKS="4 64" FULL=1
# For each domain: a full expert (FULL=0: none) and a rank-16 LoRA expert (and, on the first domain, ranks 4 and 64),
# each trained by `tributary train` on the same documents with the same seed; prints held-out bits per
# byte (anchor, 2-expert model, gain), training tokens/s, peak RSS, the bundle's expert file size, the
# time `tributary sign` + `tributary verify` take, and the time `tributary submit` takes against a local
# `tributary serve` (upload, the server's checks, logging; the outcome beside it). Learning rates: LR_FULL (default 2e-3, the
# demo's) and LR_LORA (default 1e-2).
source "$(dirname "$0")/common.sh"
bench_build tributary tributary-dev
bin=.build/release/tributary
anchor=$(smollm2_anchor)
work=.bench/lora
mkdir -p "$work/run"
[ -d "$work/corpora/public" ] || .build/release/tributary-dev prepare-corpora --workdir "$work" --documents 100 >/dev/null
STEPS=${STEPS:-8}; SEED=${SEED:-1}
DOMAINS=${DOMAINS:-"linux-uapi perl locales"}; RANKS=${RANKS:-16}; EXTRA_RANKS=${EXTRA_RANKS:-"4 64"}
LR_FULL=${LR_FULL:-2e-3}; LR_LORA=${LR_LORA:-1e-2}; FULL=${FULL:-1}
[ -f "$work/bench.key" ] || "$bin" keygen --name bench --out "$work" >/dev/null
keyfile=$work/bench.key; pubfile=$work/bench.pub
[ -f "$work/operator.key" ] || "$bin" keygen --name operator --out "$work" >/dev/null
server=$(bench_scratch lora-server); bench_keep "$server"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
# Every kind the benchmark trains is accepted as trained: no DP, signatures that may not route.
"$bin" serve --dir "$server" --anchor "$anchor" --probe "$work/corpora/public" --probe-bytes 8192 --origin bench.tributary/log \
  --operator-key "$work/operator.pub" --expert-layers 22-29 --allow-no-dp --allow-unroutable-signatures --no-auto-release \
  --port "$port" --log-level warning > "$server/serve.log" 2>&1 &
bench_pids+=($!)
wait_for "$url/healthz" 300 "$!" "$server/serve.log"
"$bin" admin enroll --server "$url" --operator-key "$work/operator.key" --name bench --pubkey "$pubfile" >/dev/null
results="$work/results-$(date +%Y%m%d-%H%M%S).jsonl"
first=${DOMAINS%% *}
for domain in $DOMAINS; do
  kinds=""; [ "$FULL" = 1 ] && kinds="full"; for r in $RANKS; do kinds="$kinds lora$r"; done
  [ "$domain" = "$first" ] && for r in $EXTRA_RANKS; do kinds="$kinds lora$r"; done
  for kind in $kinds; do
    if [ "$kind" = full ]; then lr=$LR_FULL; extra=(--lr "$lr"); else lr=$LR_LORA; extra=(--expert-kind lora --lora-rank "${kind#lora}" --lr "$lr"); fi
    out="$work/run/$domain-$kind-s$SEED-$STEPS-lr$lr"
    "$bin" train --anchor "$anchor" --data "$work/corpora/$domain" --public-text "$work/corpora/public" --out "$out" \
      --steps "$STEPS" --batch 8 --seq-len 256 --warmup 1 --expert-layers 22-29 --public-every 4 --seed "$SEED" \
      --max-bytes 150000 --eval-bytes 15000 --no-dp --min-self-routing 0 --restart --quiet --json "${extra[@]}" > "$out.json"
    bytes=$(stat -c %s "$out/bundle/expert.safetensors")
    t0=$(date +%s.%N)
    "$bin" sign "$out/bundle" --key "$keyfile" --origin bench.tributary/log >/dev/null
    "$bin" verify "$out/bundle" --pubkey "$pubfile" >/dev/null
    t1=$(date +%s.%N)
    if "$bin" submit --server "$url" "$out/bundle" --json > "$out.submit" 2>&1; then submitted=accepted
    else submitted=$(grep -o 'error\[[a-z_.]*\]' "$out.submit" | head -1); fi
    t2=$(date +%s.%N)
    .venv/bin/python - "$out.json" "$domain" "$kind" "$bytes" "$(echo "$t1 - $t0" | bc)" "$STEPS" "$SEED" "$lr" "$(echo "$t2 - $t1" | bc)" "$submitted" >> "$results" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
h = r["heldOutBitsPerByte"]
print(json.dumps({"domain": sys.argv[2], "kind": sys.argv[3], "steps": int(sys.argv[6]), "seed": int(sys.argv[7]), "lr": float(sys.argv[8]), "anchorBPB": h["anchor"], "expertBPB": h["expert"],
                  "gain": h["anchor"] - h["expert"], "tokensPerSecond": r["tokensPerSecond"], "peakRSSMiB": r["peakRSSMiB"],
                  "expertFileBytes": int(sys.argv[4]), "signVerifySeconds": float(sys.argv[5]),
                  "submitSeconds": float(sys.argv[9]), "submitted": sys.argv[10]}))
PY
    tail -1 "$results"
  done
done
.venv/bin/python - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(f"{'domain':12} {'kind':8} {'steps':>5} {'seed':>4} {'lr':>7} {'anchor':>7} {'expert':>7} {'gain':>7} {'tok/s':>6} {'RSS MiB':>8} {'expert file':>12} {'sign+verify':>11} {'submit':>8}")
for r in rows:
    print(f"{r['domain']:12} {r['kind']:8} {r['steps']:5d} {r['seed']:4d} {r['lr']:7.0e} {r['anchorBPB']:7.4f} {r['expertBPB']:7.4f} {r['gain']:7.4f} {r['tokensPerSecond']:6.0f} "
          f"{r['peakRSSMiB']:8.0f} {r['expertFileBytes'] / 1e6:10.2f} MB {r['signVerifySeconds']:10.2f} s {r['submitSeconds']:6.2f} s {r['submitted']}")
PY
