#!/usr/bin/env bash
# Checks that models Tributary writes load in Hugging Face transformers and give the same logits.
#   scripts/interop/check_transformers.sh MODEL_DIR [MODEL_DIR...]
# Needs the torch/transformers virtualenv from benchmarks/setup-torch.sh (not part of CI: ~5 GB).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
py=${TRIBUTARY_TORCH_PYTHON:-$root/.venv-bench/bin/python}
dev=${TRIBUTARY_DEV_BIN:-$root/.build/release/tributary-dev}
tokens="256,84,104,101,32,113,117,105,99,107,32,98,114,111,119,110,32,102,111,120,46,10,0,255,257"
status=0
for dir in "$@"; do
  "$dev" logits --model "$dir" --tokens "$tokens" > /tmp/tributary-logits.json
  "$py" "$root/scripts/interop/llama_reference.py" transformers "$dir" "$tokens" > /tmp/transformers-logits.json
  "$py" - "$dir" <<'PY' || status=1
import json, sys
import numpy as np
ours = np.array(json.load(open("/tmp/tributary-logits.json"))["logits"])
ref = np.array(json.load(open("/tmp/transformers-logits.json"))["logits"])
diff = np.abs(ours - ref).max()
print(f"{sys.argv[1]}: {ours.shape[0]} positions x {ours.shape[1]} logits, max |tributary - transformers| = {diff:.2e}")
sys.exit(0 if diff < 1e-4 else 1)
PY
done
exit $status
