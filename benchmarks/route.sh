#!/usr/bin/env bash
# /v1/route on SmolLM2 under load: a copy of the demo's server (its SmolLM2 releases; `scripts/demo.sh`
# first) serves on loopback, and `tributary-dev bench-route` sends one-text routing queries (the demo's
# query corpus, 1 KB each: SmolLM2's 256 embedding tokens) from CLIENTS clients, then /healthz in the
# same run, and prints requests/s and latency against the model-bound limit (the queries' anchor FLOPs
# at the sgemm peak measured in the same run). Release build.
#   benchmarks/route.sh                     (DEMO=.demo CLIENTS=8 SECONDS_EACH=20 WINDOW_MS=5)
# Also the server's peak RSS, and transformers' holding the same release (with .venv-bench).
source "$(dirname "$0")/common.sh"
demo=${DEMO:-.demo}
clients=${CLIENTS:-8}
seconds=${SECONDS_EACH:-20}
window=${WINDOW_MS:-5}
[ -d "$demo/run/server/releases" ] && [ -f "$demo/anchor/anchor.json" ] || { echo "route.sh needs a demo run in $demo: scripts/demo.sh" >&2; exit 1; }
bench_build tributary tributary-dev
out=$(bench_scratch route); bench_keep "$out"
cp -r "$demo/run/server" "$out/server"
port=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
.build/release/tributary serve --dir "$out/server" --anchor "$demo/anchor" --probe "$demo/corpora/public" --origin demo.tributary/log \
  --operator-key "$demo/run/keys/operator.pub" --no-auto-release --log-level warning --port "$port" \
  --route-batch-window-ms "$window" > "$out/server.log" 2>&1 &
pid=$!; bench_pids+=($pid)
wait_for "http://127.0.0.1:$port/healthz" 300 "$pid" "$out/server.log"
echo "machine: $(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2-), $(nproc) cores; $(date -u +%F); $(.build/release/tributary-dev blas-info | grep -E "^core:"); batching window $window ms"
.build/release/tributary-dev bench-route --server "http://127.0.0.1:$port" --anchor "$demo/anchor" --texts "$demo/corpora/queries" \
  --clients "$clients" --seconds "$seconds" "$@"
# Serving memory: this server (the release, the anchor for routing, the probe) against transformers
# holding the same release and scoring one window (the model alone), each its own process.
echo "serving peak RSS: the server $(awk '/VmHWM/ {printf "%.0f MiB", $2 / 1024}' /proc/$pid/status) (release $(cat "$out/server/releases/latest" 2>/dev/null || ls "$out/server/releases" | tail -n 1), anchor, probe)"
if [ -x .venv-bench/bin/python ]; then
  release=$(ls -d "$out"/server/releases/0* | tail -n 1)
  .venv-bench/bin/python - "$release" <<'PY'
import resource, sys, torch
from transformers import AutoModelForCausalLM
torch.set_num_threads(2)
m = AutoModelForCausalLM.from_pretrained(sys.argv[1], dtype=torch.float32).eval()
with torch.inference_mode():
    m(torch.randint(0, 1000, (1, 256)))
print(f"  transformers holding the same release (F32) and scoring 256 tokens: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
PY
fi
