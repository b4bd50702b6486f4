"""Interop between Tributary's safetensors code and Hugging Face's reference `safetensors` package.

    python safetensors_interop.py write DIR   # reference writes DIR/python.safetensors + DIR/python.expected (raw f32)
    python safetensors_interop.py check FILE  # reference reads FILE (written by Tributary), prints every tensor as f32 bits

Used by Tests/TributaryCoreTests/PythonInteropTests.swift; exits non-zero with a message on any failure.
"""
import json
import sys

import numpy as np
import safetensors
from safetensors.numpy import load_file, save_file


def write(directory):
    rng = np.random.default_rng(1234)
    f32 = rng.standard_normal((3, 5)).astype(np.float32)
    f16 = rng.standard_normal((7,)).astype(np.float16)
    empty = np.zeros((0, 3), dtype=np.float32)
    save_file({"weights.f32": f32, "weights.f16": f16, "empty": empty},
              f"{directory}/python.safetensors", metadata={"producer": "python-safetensors"})
    # BF16 has no numpy dtype: go through the reference's low-level serializer with raw bytes.
    bf_source = rng.standard_normal((4, 2)).astype(np.float32)
    bf_bits = (bf_source.view(np.uint32) >> 16).astype(np.uint16)
    safetensors.serialize_file({"weights.bf16": {"dtype": "bfloat16", "shape": [4, 2], "data": bf_bits.tobytes()}},
                               f"{directory}/python-bf16.safetensors")
    expected = {
        "weights.f32": f32.ravel(),
        "weights.f16": f16.astype(np.float32).ravel(),
        "empty": empty.ravel(),
        "weights.bf16": (bf_bits.astype(np.uint32) << 16).view(np.float32).ravel(),
    }
    json.dump({k: [int(x) for x in v.view(np.uint32)] for k, v in expected.items()},
              open(f"{directory}/python.expected.json", "w"))


def check(path):
    out = {}
    # Every tensor through the reference's own deserializer (handles BF16 as raw bytes) ...
    with open(path, "rb") as f:
        raw = f.read()
    for name, t in safetensors.deserialize(raw):
        if t["dtype"] == "F32":
            bits = np.frombuffer(bytes(t["data"]), dtype=np.uint32)
        elif t["dtype"] == "BF16":
            bits = np.frombuffer(bytes(t["data"]), dtype=np.uint16).astype(np.uint32) << 16
        else:
            sys.exit(f"unexpected dtype {t['dtype']} for {name}")
        out[name] = {"shape": list(t["shape"]), "dtype": t["dtype"], "bits": [int(x) for x in bits]}
    # ... and the F32 ones again through the numpy front end, which must agree.
    numpy_view = load_file(path) if all(v["dtype"] == "F32" for v in out.values()) else {}
    for name, arr in numpy_view.items():
        if list(arr.shape) != out[name]["shape"]:
            sys.exit(f"{name}: numpy shape {arr.shape} != {out[name]['shape']}")
    with safetensors.safe_open(path, framework="np") as f:
        metadata = f.metadata()
    print(json.dumps({"tensors": out, "metadata": metadata}))


if __name__ == "__main__":
    {"write": write, "check": check}[sys.argv[1]](sys.argv[2])
