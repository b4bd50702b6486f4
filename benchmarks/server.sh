#!/usr/bin/env bash
# Server benchmarks, release build, loopback only:
#   1. POST /v1/route requests/s and p50/p99 latency under concurrent load from wrk, against the
#      server's plain GET /healthz route (Hummingbird's hello-world) in the same run;
#   2. inclusion-proof latency with 1,000,000 log entries, in-process and over HTTP under wrk;
#   3. upload-and-verify of a 1 GiB expert against `sha256sum` of the same file, with the server's peak RSS.
# Usage: benchmarks/server.sh [--skip-large]      (the 1 GiB part needs ~8 GiB RAM and a few minutes)
source "$(dirname "$0")/common.sh"
bench_build
bin=$PWD/.build/release/tributary
dev=$PWD/.build/release/tributary-dev
work=$(bench_scratch bench); bench_keep "$work"
duration=${DURATION:-15}

echo "== setup: small anchor, one expert, 1,000,000-entry log"
"$dev" prepare-corpora --workdir "$work" --documents 200 >/dev/null
"$bin" anchor train --corpus "$work/corpora/public" --config small --out "$work/anchor" --steps 150 --checkpoint-every 0 --quiet >/dev/null
"$bin" keygen --name acme --out "$work/keys" >/dev/null
"$bin" train --anchor "$work/anchor" --data "$work/corpora/linux-uapi" --public-text "$work/corpora/public" --out "$work/acme" --steps 40 --epsilon 4 --quiet >/dev/null
"$bin" sign "$work/acme/bundle" --key "$work/keys/acme.key" >/dev/null
"$dev" bench-log --dir "$work/data" --anchor "$work/anchor" --entries 1000000 2>/dev/null | sed 's/^/   /'
"$bin" admin enroll --dir "$work/data" --name acme --pubkey "$work/keys/acme.pub" >/dev/null
"$bin" serve --dir "$work/data" --anchor "$work/anchor" --probe "$work/corpora/public" --port 18080 --probe-tolerance 0.5 --log-level warning > "$work/serve.log" 2>&1 &
bench_pids+=($!)
wait_for_line "$work/serve.log" "serving on" 300
"$bin" submit --server http://127.0.0.1:18080 "$work/acme/bundle" | sed 's/^/   /'
for _ in $(seq 1 120); do curl -sf http://127.0.0.1:18080/v1/releases/latest >/dev/null && break; sleep 0.5; done

cat > "$work/route.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"text": "#include <linux/types.h>\\nstruct timespec { long tv_sec; long tv_nsec; };\\n"}'
LUA
cat > "$work/proof.lua" <<'LUA'
math.randomseed(7)
request = function()
  return wrk.format("GET", "/v1/log/proof/inclusion?index=" .. math.random(0, 999999) .. "&size=1000002")
end
LUA
summarise() {  # label, wrk output file
  awk -v label="$1" '
    /Requests\/sec/ { rps = $2 }
    /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 }
    /Non-2xx/ { non2xx = $NF }
    END { printf "   %-34s %10.0f req/s   p50 %8s   p99 %8s   non-2xx %s\n", label, rps, p50, p99, (non2xx == "" ? 0 : non2xx) }' "$2"
}
echo "== wrk, 2 threads, 32 connections, ${duration}s each (loopback)"
wrk -t2 -c32 -d"${duration}s" --latency http://127.0.0.1:18080/healthz > "$work/hello.txt"
summarise "GET /healthz (hello-world baseline)" "$work/hello.txt"
wrk -t2 -c32 -d"${duration}s" --latency -s "$work/route.lua" http://127.0.0.1:18080/v1/route > "$work/route.txt"
summarise "POST /v1/route (one text)" "$work/route.txt"
wrk -t2 -c32 -d"${duration}s" --latency -s "$work/proof.lua" http://127.0.0.1:18080 > "$work/proof.txt"
summarise "GET inclusion proof, 1M entries" "$work/proof.txt"
awk '/Requests\/sec/ { r[FILENAME] = $2 } END { printf "   route / hello-world throughput ratio: %.3f\n", r[ARGV[2]] / r[ARGV[1]] }' "$work/hello.txt" "$work/route.txt"

if [ "${1:-}" != "--skip-large" ]; then
  echo "== upload and verify a 1 GiB expert"
  "$dev" bench-fixtures --out "$work/large" --text "$work/corpora/public" | sed 's/^/   /'
  "$bin" serve --dir "$work/large-data" --anchor "$work/large/anchor" --probe "$work/corpora/public/00000.txt" --port 18081 --probe-tolerance 0.5 --log-level warning > "$work/large.log" 2>&1 &
  lpid=$!
  bench_pids+=($lpid)
  wait_for_line "$work/large.log" "serving on" 300
  "$bin" admin enroll --dir "$work/large-data" --name bench --pubkey "$work/large/keys/bench.pub" >/dev/null
  size=$(stat -c %s "$work/large/bundle/expert.safetensors")
  rss_idle=$(awk '/VmHWM/ { print $2 }' /proc/$lpid/status)
  t0=$(date +%s.%N); sha256sum "$work/large/bundle/expert.safetensors" >/dev/null; t1=$(date +%s.%N)
  "$bin" submit --server http://127.0.0.1:18081 "$work/large/bundle" >/dev/null; t2=$(date +%s.%N)
  rss_peak=$(awk '/VmHWM/ { print $2 }' /proc/$lpid/status)
  awk -v s="$size" -v a="$t0" -v b="$t1" -v c="$t2" -v ri="$rss_idle" -v rp="$rss_peak" 'BEGIN {
    printf "   expert file: %.2f GiB\n", s / 2^30
    printf "   sha256sum (baseline):         %6.2f s  (%.0f MB/s)\n", b - a, s / (b - a) / 1e6
    printf "   upload + full verification:   %6.2f s  (%.1fx sha256sum)\n", c - b, (c - b) / (b - a)
    printf "   server peak RSS: %.2f GiB after start (anchor loaded), %.2f GiB after verifying (probe model)\n", ri / 2^20, rp / 2^20 }'
fi
