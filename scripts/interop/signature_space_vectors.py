"""Writes protocol/test-vectors/signature-space.json: a signature space and documents' points, computed
with numpy (float64) from SPEC §6.1's formulas, independently of the Swift code that the tests check
against it (SignatureSpaceVectorTests).

  point(x) = normalise(P · (x − center))              (P: [d, H], x: a document's mean state at the layer)
  fit: center = mean of the public rows; P = the top d eigenvectors of their covariance (n − 1), each
       signed so its largest-magnitude coordinate is positive, after dropping the first `drop`

Run: .venv/bin/python scripts/interop/signature_space_vectors.py > protocol/test-vectors/signature-space.json
"""
import json
import numpy as np

H, d, n_public, n_docs = 6, 2, 9, 4
# Exactly representable inputs (multiples of 1/64), so every implementation reads the same numbers.
public = np.array([[((i * i * 7 + j * 13 + i * j * 3) % 23 - 11) / 64.0 for j in range(H)] for i in range(n_public)])
docs = np.array([[((i * 5 + j * 11) % 19 - 9) / 64.0 for j in range(H)] for i in range(n_docs)])

center = public.mean(axis=0)
cov = np.cov(public, rowvar=False)          # divides by n - 1
values, vectors = np.linalg.eigh(cov)
order = np.argsort(values)[::-1]
P = []
for r in order[:d]:
    v = vectors[:, r]
    if v[np.argmax(np.abs(v))] < 0:
        v = -v
    P.append(v)
P = np.array(P)

def point(x):
    y = P @ (x - center)
    return y / np.linalg.norm(y)

r = lambda a: [float(f"{v:.9g}") for v in np.ravel(a)]
print(json.dumps({
    "hidden": H, "dimension": d, "layer": 1,
    "publicRows": r(public), "center": r(center), "projection": r(P), "eigenvalues": r(values[order[:d]]),
    "documents": r(docs), "points": r(np.array([point(x) for x in docs])),
}, indent=1))
