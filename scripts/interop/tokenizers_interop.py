"""The tokenizer side of Tributary's interop tests, with Hugging Face's own `tokenizers` (Rust).

  encode TOKENIZER_JSON INPUT_JSON   INPUT_JSON is a list of {"name", "hex"} (raw bytes in hex) or
                                     {"name", "file"}; prints {name: {"ids": [...], "decoded": str}}.
Bytes that are not UTF-8 are read with errors="replace" (U+FFFD per maximal invalid subsequence):
`tokenizers` only takes Unicode strings, and Tributary reads raw bytes the same way.
"""
import json, sys
from tokenizers import Tokenizer

def encode(tokenizer_json, input_json):
    t = Tokenizer.from_file(tokenizer_json)
    out = {}
    for item in json.load(open(input_json)):
        raw = bytes.fromhex(item["hex"]) if "hex" in item else open(item["file"], "rb").read()
        ids = t.encode(raw.decode("utf-8", "replace")).ids
        out[item["name"]] = {"ids": ids, "decoded": t.decode(ids, skip_special_tokens=False)}
    json.dump(out, sys.stdout, ensure_ascii=True)

if __name__ == "__main__":
    {"encode": encode}[sys.argv[1]](*sys.argv[2:])
