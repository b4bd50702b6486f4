#!/usr/bin/env bash
# Tiles and witnesses, release build, loopback only:
#   1. a 1,000,000-entry log read whole through the proof API and through tlog-tiles (the log phase
#      of a first audit), and the bytes of one inclusion / consistency proof each way;
#   2. the latency of a log append whose checkpoint 3 witnesses (`tributary witness serve`) must
#      cosign, against the same appends on a server without witnesses, in the same run.
# Usage: benchmarks/tiles.sh
source "$(dirname "$0")/common.sh"
bench_build
bin=$PWD/.build/release/tributary
dev=$PWD/.build/release/tributary-dev
work=$(bench_scratch tiles); bench_keep "$work"

echo "== setup: small anchor, a 1,000,000-entry log"
"$dev" prepare-corpora --workdir "$work" --documents 60 >/dev/null
"$bin" anchor train --corpus "$work/corpora/public" --config small --out "$work/anchor" --steps 20 --checkpoint-every 0 --quiet >/dev/null
"$dev" bench-log --dir "$work/big" --anchor "$work/anchor" --entries 1000000 --samples 10 2>/dev/null | head -1 | sed 's/^/   /'
serve() {  # dir port log [args...]
  local dir=$1 port=$2 log=$3; shift 3
  "$bin" serve --dir "$dir" --anchor "$work/anchor" --probe "$work/corpora/public" --port "$port" --probe-tolerance 0.5 \
    --probe-bytes 4096 --log-level error --operator-key "$work/keys/operator.pub" --no-auto-release "$@" > "$log" 2>&1 &
  bench_pids+=($!)
  wait_for_line "$log" "serving on" 300
}
"$bin" keygen --name operator --out "$work/keys" >/dev/null
serve "$work/big" 18090 "$work/big.log"
echo "== the log through the proof API and through tiles"
"$dev" bench-tiles --server http://127.0.0.1:18090 --log-key "$work/big/log.pub" --samples 200 | sed 's/^/   /'

echo "== appends with 3 witnesses (quorum 3) against appends without, 100 each"
serve "$work/witnessed" 18091 "$work/first.log"
kill "${bench_pids[-1]}"; wait "${bench_pids[-1]}" 2>/dev/null || true
origin=$(cut -d+ -f1 "$work/witnessed/log.pub")
specs=()
for i in 1 2 3; do
  "$bin" witness keygen --name "witness.bench/w$i" --key "$work/w$i.key" >/dev/null
  "$bin" witness serve --key "$work/w$i.key" --state "$work/w$i" --init --log "$origin=$(cat "$work/witnessed/log.pub")" --port $((18100 + i)) > "$work/w$i.log" 2>&1 &
  bench_pids+=($!)
  wait_for_line "$work/w$i.log" "tributary witness on" 300
  specs+=(--witness "http://127.0.0.1:$((18100 + i))=$(cat "$work/w$i.key.pub")")
done
serve "$work/witnessed" 18091 "$work/witnessed.log" "${specs[@]}" --witness-quorum 3
serve "$work/plain" 18092 "$work/plain.log"
"$dev" bench-witness --server http://127.0.0.1:18092 --operator-key "$work/keys/operator.key" --count 100 --label "no witnesses (baseline)" | sed 's/^/   /'
"$dev" bench-witness --server http://127.0.0.1:18091 --operator-key "$work/keys/operator.key" --count 100 --label "3 witnesses, quorum 3  " | sed 's/^/   /'
