"""The GGUF side of Tributary's interop tests, with ggml's own `gguf` Python package.

  write DIR         writes DIR/python.gguf: metadata of every GGUF value type and tensors of every
                    type Tributary dequantises (F32, F16, BF16, Q4_0, Q4_1, Q8_0), with an alignment
                    of 64 so the data section needs padding; DIR/python.expected.json holds the
                    metadata and, per tensor, the float32 bit patterns `gguf` dequantises it to.
  digests FILE      prints JSON {tensor name: sha256 of its float32 values as `gguf` dequantises them}
                    for every tensor of a GGUF file (the SmolLM2 anchor in the test).
  check-written GGUF SAFETENSORS
                    a GGUF file Tributary wrote, against the F32 values it was written from (same tensor
                    names in a safetensors file): prints JSON with its metadata as `gguf` reads it and,
                    per tensor, its type, its shape in PyTorch order, and whether its bytes are exactly
                    what `gguf` makes of those values (F32 as is, F16 by numpy's rounding, Q8_0 by
                    gguf.quants.quantize).
"""
import hashlib, json, sys
import numpy as np
import gguf
from gguf.quants import dequantize, quantize

def write(d):
    w = gguf.GGUFWriter(f"{d}/python.gguf", "llama")
    w.add_custom_alignment(64)
    w.add_uint8("t.u8", 200); w.add_int8("t.i8", -100); w.add_uint16("t.u16", 60000); w.add_int16("t.i16", -30000)
    w.add_uint32("t.u32", 4000000000); w.add_int32("t.i32", -2000000000); w.add_float32("t.f32", 0.1)
    w.add_bool("t.bool", True); w.add_string("t.str", "héllo ✓"); w.add_uint64("t.u64", 2**63 + 5)
    w.add_int64("t.i64", -2**62); w.add_float64("t.f64", 2.5e-300); w.add_array("t.arr", [1, 2, 3])
    w.add_array("t.strs", ["a", "", "ü"])
    rng = np.random.default_rng(7)
    expected = {}
    def add(name, values, qtype):
        if qtype in (gguf.GGMLQuantizationType.F32,):
            raw = values.astype(np.float32)
        elif qtype == gguf.GGMLQuantizationType.F16:
            raw = values.astype(np.float16)
        else:
            raw = quantize(values.astype(np.float32), qtype)
        w.add_tensor(name, raw, raw_dtype=qtype)
        deq = dequantize(raw, qtype).astype(np.float32).reshape(-1)
        expected[name] = {"shape": list(values.shape), "bits": deq.view(np.uint32).tolist()}
    add("a.f32", rng.standard_normal((3, 5)), gguf.GGMLQuantizationType.F32)
    add("b.f16", rng.standard_normal((2, 7)) * 100, gguf.GGMLQuantizationType.F16)
    add("c.q8_0", rng.standard_normal((4, 64)), gguf.GGMLQuantizationType.Q8_0)
    add("d.q4_0", rng.standard_normal((3, 96)), gguf.GGMLQuantizationType.Q4_0)
    add("e.q4_1", rng.standard_normal((5, 32)) + 3, gguf.GGMLQuantizationType.Q4_1)
    add("f.bf16", rng.standard_normal((2, 3)), gguf.GGMLQuantizationType.BF16)
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
    json.dump(expected, open(f"{d}/python.expected.json", "w"))

def digests(path):
    r = gguf.GGUFReader(path)
    out = {}
    for t in r.tensors:
        v = dequantize(t.data, t.tensor_type).astype(np.float32).reshape(-1)
        out[t.name] = hashlib.sha256(v.tobytes()).hexdigest()
    print(json.dumps(out))

def field_value(f):
    types = f.types
    def one(i):
        part = f.parts[i]
        return bytes(part).decode("utf-8") if types[-1] == gguf.GGUFValueType.STRING else part.tolist()[0]
    if types[0] == gguf.GGUFValueType.ARRAY:
        return [one(i) for i in f.data]
    return one(f.data[0])

def check_written(path, source):
    from safetensors.numpy import load_file
    values = load_file(source)
    r = gguf.GGUFReader(path)
    meta = {k: field_value(f) for k, f in r.fields.items() if not k.startswith("GGUF.")}
    tensors = {}
    for t in r.tensors:
        v = values[t.name].astype(np.float32)
        qtype = t.tensor_type
        if qtype == gguf.GGMLQuantizationType.F32: want = v.tobytes()
        elif qtype == gguf.GGMLQuantizationType.F16: want = v.astype(np.float16).tobytes()
        else: want = quantize(v, qtype).tobytes()
        tensors[t.name] = {"type": qtype.name, "shape": [int(x) for x in reversed(t.shape)], "bytesEqual": bytes(t.data.tobytes()) == want}
    print(json.dumps({"metadata": meta, "tensors": tensors}))

if __name__ == "__main__":
    if sys.argv[1] == "check-written":
        check_written(sys.argv[2], sys.argv[3])
    else:
        {"write": write, "digests": digests}[sys.argv[1]](sys.argv[2])
