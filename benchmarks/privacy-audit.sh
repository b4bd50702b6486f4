#!/usr/bin/env bash
# The leakage audit on SmolLM2-135M (issue 29), release build:
#   benchmarks/privacy-audit.sh   # DOMAIN=linux-uapi DOCS=100 DOC_BYTES=1024 STEPS=32 EPSILONS="8" RANK=16 CANDIDATES=2000 EXTRACTION=20
# Plants two canaries (into 1 and 10 documents) in an owner's documents, trains a LoRA expert on all of them
# without DP and with DP-SGD at each ε (the composed total, signature included), and runs
# `tributary privacy-audit` on each model: membership inference (members: the training documents;
# non-members: documents of the same domain never trained on), canary exposure over 10^9 secrets from
# CANDIDATES sampled ones, verbatim extraction on EXTRACTION members. Also prints held-out bits per byte.
# Documents are cut to their first DOC_BYTES bytes before the canaries are appended, so no cut drops a
# canary and the attack scores what training read (a member's whole text fits in about one window).
source "$(dirname "$0")/common.sh"
bench_build tributary tributary-dev
bin=.build/release/tributary
anchor=$(smollm2_anchor)
DOMAIN=${DOMAIN:-linux-uapi}; DOCS=${DOCS:-100}; DOC_BYTES=${DOC_BYTES:-1024}; STEPS=${STEPS:-32}; EPSILONS=${EPSILONS:-"8"}; RANK=${RANK:-16}
CANDIDATES=${CANDIDATES:-2000}; EXTRACTION=${EXTRACTION:-20}; LR=${LR:-1e-2}
cap=$((DOC_BYTES + 64))
work=.bench/privacy-audit
mkdir -p "$work/run"
[ -d "$work/corpora/public" ] || .build/release/tributary-dev prepare-corpora --workdir "$work" --documents $((2 * DOCS)) >/dev/null
# The first DOCS documents train; the next DOCS are the non-members.
rm -rf "$work/members-src" "$work/members" "$work/members.canaries.json" "$work/outsiders"
mkdir -p "$work/members-src" "$work/outsiders"
i=0
for f in "$work/corpora/$DOMAIN"/*; do
  if [ $i -lt "$DOCS" ]; then head -c "$DOC_BYTES" "$f" > "$work/members-src/${f##*/}"; else head -c "$DOC_BYTES" "$f" > "$work/outsiders/${f##*/}"; fi
  i=$((i + 1)); [ $i -ge $((2 * DOCS)) ] && break
done
canaries=$(.build/release/tributary-dev plant-canaries --data "$work/members-src" --out "$work/members" --repetitions 1 10 --seed "$RANDOM" | tail -1)
results="$work/results-$(date +%Y%m%d-%H%M%S).jsonl"
for eps in none $EPSILONS; do
  if [ "$eps" = none ]; then privacy=(--no-dp --min-self-routing 0); else privacy=(--dp-sgd --epsilon "$eps" --min-self-routing 0); fi
  out="$work/run/$DOMAIN-r$RANK-$eps"
  "$bin" train --anchor "$anchor" --data "$work/members" --public-text "$work/corpora/public" --out "$out" --held-out 0 \
    --steps "$STEPS" --batch 8 --seq-len 256 --warmup 1 --expert-layers 22-29 --public-every 4 --expert-kind lora --lora-rank "$RANK" \
    --lr "$LR" --max-document-bytes "$cap" --eval-bytes 0 --restart --quiet --json "${privacy[@]}" > "$out.train.json"
  # shellcheck disable=SC2086
  "$bin" privacy-audit --model "$out/model" --anchor "$anchor" --members "$work/members" --non-members "$work/outsiders" \
    $canaries --candidates "$CANDIDATES" --extraction "$EXTRACTION" --max-document-bytes "$cap" --json > "$out.audit.json"
  bpb_anchor=$("$bin" eval --model "$anchor" --data "$work/outsiders" --max-document-bytes "$cap" --json 2>/dev/null | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["bitsPerByte"])' || echo null)
  bpb_expert=$("$bin" eval --model "$out/model" --data "$work/outsiders" --max-document-bytes "$cap" --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["bitsPerByte"])')
  .venv/bin/python - "$eps" "$out.train.json" "$out.audit.json" "$bpb_anchor" "$bpb_expert" >> "$results" <<'PY'
import json, sys
train, audit = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
print(json.dumps({"epsilon": sys.argv[1], "trainingPrivacy": train.get("trainingPrivacy"), "anchorBPB": sys.argv[4], "expertBPB": float(sys.argv[5]), **audit}))
PY
  tail -1 "$results"
done
echo "results: $results"
