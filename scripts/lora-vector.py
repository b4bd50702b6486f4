#!/usr/bin/env python3
"""Writes protocol/test-vectors/lora/materialise.json: the LoRA materialisation of SPEC §7.3 computed
with NumPy float32 scalars in the order the SPEC defines (u = Σ_k b[o,k]·a[k,i] from k = 0, each
product and sum rounded to F32; w = w0 + (alpha/r)·u), so the Swift kernel is checked against
arithmetic nobody here wrote. Inputs are random normals with magnitudes far apart, where the order and
the absence of fused multiply-add change the last bits."""
import json, sys
import numpy as np

rng = np.random.default_rng(20261205)
oc, ic, r, alpha = 5, 7, 3, np.float32(5.0)
w0 = (rng.standard_normal((oc, ic)) * 0.5).astype(np.float32)
a = (rng.standard_normal((r, ic)) * np.array([1.0, 1e-4, 1.0])[:, None]).astype(np.float32)
b = (rng.standard_normal((oc, r)) * np.array([1.0, 1e-3, 1.0])[None, :]).astype(np.float32)
scale = np.float32(alpha / np.float32(r))
w = np.empty_like(w0)
for o in range(oc):
    for i in range(ic):
        u = np.float32(0)
        for k in range(r):
            u = np.float32(u + np.float32(b[o, k] * a[k, i]))
        w[o, i] = np.float32(w0[o, i] + np.float32(scale * u))
bits = lambda x: [int(v) for v in x.astype(np.float32).view(np.uint32).ravel()]
json.dump({"out": oc, "in": ic, "rank": r, "alpha_bits": bits(np.array([alpha]))[0],
           "w0": bits(w0), "a": bits(a), "b": bits(b), "w": bits(w)}, sys.stdout)
print()
