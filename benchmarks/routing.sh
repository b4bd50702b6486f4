#!/usr/bin/env bash
# Batched routing: 1,000 queries against 1,000 experts x 16 centroids (synthetic, C = 128), Tributary
# against a plain NumPy brute-force implementation of the same computation, in one run.
#   benchmarks/routing.sh
source "$(dirname "$0")/common.sh"
bench_build tributary-dev
args="--queries ${QUERIES:-1000} --experts ${EXPERTS:-1000} --centroids ${CENTROIDS:-16} --dim ${DIM:-128}"
ours=$(.build/release/tributary-dev bench-routing $args --json)
base=$(.venv/bin/python benchmarks/routing_numpy.py $args)
.venv/bin/python - "$ours" "$base" <<'PY'
import json, sys
ours, base = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"Tributary CentroidRouter: {ours['seconds']*1000:8.1f} ms  ({ours['queriesPerSecond']:,.0f} queries/s)")
print(f"NumPy {base['numpy']} brute force: {base['seconds']*1000:8.1f} ms  ({base['queriesPerSecond']:,.0f} queries/s)")
print(f"ratio (NumPy time / Tributary time): {base['seconds']/ours['seconds']:.2f}x  (best of 5 each)")
PY
