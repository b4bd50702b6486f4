#!/usr/bin/env bash
# Bring your own trainer, end to end on SmolLM2-135M through a real server: acme trains its expert
# with PyTorch + transformers in F32 and initech in BF16 (examples/pytorch/train_expert.py, CPU here),
# both import them with `tributary contribute`, globex trains natively with `tributary train`; all three
# are signed, submitted, logged, released and audited alike (examples/ scripts). Also checks that a
# tampered checkpoint (one frozen attention weight moved by one BF16 step) is refused with nothing written.
# Not part of CI: needs .venv-bench (benchmarks/setup-torch.sh) and a release build; ~15 minutes on 2 cores.
#   scripts/interop/pytorch-expert.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/setup.sh >/dev/null
benchmarks/setup-torch.sh
if [ -z "${TRIBUTARY:-}" ]; then
  swift build -c release --product tributary >/dev/null
  swift build -c release --product tributary-dev >/dev/null
fi
export TRIBUTARY=${TRIBUTARY:-$PWD/.build/release/tributary}
dev=${TRIBUTARY_DEV:-$(dirname "$TRIBUTARY")/tributary-dev}
export WORK=${WORK:-$(mktemp -d /tmp/tributary-pytorch.XXXXXX)} SERVER=${SERVER:-http://127.0.0.1:18182}
export GGUF=$(scripts/smollm2-gguf.sh) EXPERT_LAYERS=22-29 EVAL_BYTES=${EVAL_BYTES:-32768} PYTHON=$PWD/.venv-bench/bin/python
trap 'kill $(cat "$WORK/server.pid" 2>/dev/null) 2>/dev/null || true' EXIT
echo "work directory: $WORK"
"$dev" prepare-corpora --workdir "$WORK" --documents 120
examples/operator/start.sh
for org in acme initech globex; do examples/owner/keygen.sh $org; examples/operator/enrol.sh $org; done

t=$SECONDS
EXPERT_STEPS=${TORCH_STEPS:-12} BATCH=4 SEQ_LEN=128 examples/pytorch/contribute.sh acme "$WORK/corpora/linux-uapi" | tee "$WORK/acme.out"
acme_s=$((SECONDS - t)); t=$SECONDS
EXPERT_STEPS=${TORCH_STEPS:-12} BATCH=4 SEQ_LEN=128 DTYPE=bfloat16 examples/pytorch/contribute.sh initech "$WORK/corpora/locales" | tee "$WORK/initech.out"
initech_s=$((SECONDS - t)); t=$SECONDS
EXPERT_STEPS=${NATIVE_STEPS:-12} examples/owner/contribute.sh globex "$WORK/corpora/perl" | tee "$WORK/globex.out"
globex_s=$((SECONDS - t))

# A checkpoint whose frozen tensor is not the anchor's: refused, and nothing is written.
"$PYTHON" - "$WORK/owners/initech/torch" "$WORK/tampered" <<'PY'
import shutil, sys, torch
from safetensors.torch import load_file, save_file
src, dst = sys.argv[1:]
shutil.copytree(src, dst)
w = load_file(f"{src}/model.safetensors")
name = "model.layers.3.self_attn.q_proj.weight"  # BF16: the next representable value, one step away
w[name] = w[name].clone()
w[name].view(-1).view(torch.int16)[0] += 1
save_file(w, f"{dst}/model.safetensors", metadata={"format": "pt"})
PY
if "$TRIBUTARY" contribute --anchor "$WORK/anchor" --checkpoint "$WORK/tampered" --data "$WORK/corpora/locales" --out "$WORK/tampered-out" 2>"$WORK/tampered.err"; then
  echo "FAIL: a tampered checkpoint was accepted"; exit 1
fi
grep -q 'contribute.frozen_mismatch' "$WORK/tampered.err" || { echo "FAIL: unexpected refusal: $(cat "$WORK/tampered.err")"; exit 1; }
[ ! -e "$WORK/tampered-out" ] || { echo "FAIL: a refused import left $WORK/tampered-out"; exit 1; }
echo "tampered checkpoint refused: $(cat "$WORK/tampered.err")"

examples/operator/release.sh
mkdir -p "$WORK/eval" && cp $(ls "$WORK"/corpora/public/* | head -n 20) "$WORK/eval/"   # enough files that the held-out split is not empty
EVAL_TEXT=$WORK/eval examples/auditor/audit.sh | tee "$WORK/audit.out"
echo
echo "acme (PyTorch F32): $acme_s s; initech (PyTorch BF16): $initech_s s; globex (tributary train): $globex_s s"
for org in acme initech globex; do echo "$org: $(grep -E 'held-out bits/byte' "$WORK/$org.out" | tr '\n' ' ')"; done
grep -E 'experts|release' "$WORK/audit.out" | head -n 5
