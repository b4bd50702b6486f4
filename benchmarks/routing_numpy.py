"""NumPy brute-force baseline for batched centroid routing: the same computation as Tributary's
CentroidRouter (similarities by matrix product, nearest centroid per expert, softmax(-d^2/T), top-k,
renormalise), on the same synthetic sizes.

    python routing_numpy.py --queries 1000 --experts 1000 --centroids 16 --dim 128
"""
import argparse
import json
import time

import numpy as np

p = argparse.ArgumentParser()
p.add_argument("--queries", type=int, default=1000)
p.add_argument("--experts", type=int, default=1000)
p.add_argument("--centroids", type=int, default=16)
p.add_argument("--dim", type=int, default=128)
p.add_argument("--top-k", type=int, default=2)
p.add_argument("--temperature", type=float, default=0.1)
p.add_argument("--repeats", type=int, default=5)
a = p.parse_args()

rng = np.random.default_rng(3)
def unit(n):
    v = rng.standard_normal((n, a.dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)

centroids = unit(a.experts * a.centroids)
queries = unit(a.queries)


def route(q):
    sims = q @ centroids.T                                            # [n, E*k]
    best = sims.reshape(len(q), a.experts, a.centroids).max(axis=2)   # nearest centroid per expert
    d2 = np.maximum(0.0, 2.0 - 2.0 * best.astype(np.float64))
    logits = -d2 / a.temperature
    w = np.exp(logits - logits.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    top = np.argpartition(-w, a.top_k - 1, axis=1)[:, :a.top_k]
    tw = np.take_along_axis(w, top, axis=1)
    order = np.argsort(-tw, axis=1)
    top, tw = np.take_along_axis(top, order, axis=1), np.take_along_axis(tw, order, axis=1)
    return top, tw / tw.sum(axis=1, keepdims=True)


best = float("inf")
for _ in range(a.repeats):
    t0 = time.perf_counter()
    top, _ = route(queries)
    best = min(best, time.perf_counter() - t0)
print(json.dumps({"seconds": best, "queriesPerSecond": a.queries / best, "numpy": np.__version__}))
