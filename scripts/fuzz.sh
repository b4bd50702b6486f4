#!/usr/bin/env bash
# Builds the libFuzzer targets under scripts/fuzz and runs each for a bounded time.
#   scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 60)
# Seeds come from protocol/test-vectors; crashes are written to .build-fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
root=$PWD
scratch=$root/.build-fuzz
(cd scripts/fuzz && swift build -c release --scratch-path "$scratch" -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)
bin=$(cd scripts/fuzz && swift build -c release --scratch-path "$scratch" --show-bin-path)
mkdir -p "$scratch/artifacts"
seeds_dir="$scratch/seeds"
mkdir -p "$seeds_dir"
# A real bundle archive and a real signed request as seeds.
tar --format=ustar -C protocol/test-vectors/bundle -cf "$seeds_dir/bundle.tar" envelope.json expert.safetensors routing.safetensors statement.json
printf '%s' '{"payload":"eyJhY3Rpb24iOiJyZXZva2UtY29udHJpYnV0aW9uIiwia2V5SUQiOiI1NDY0NDQxZiIsIm5vbmNlIjoiMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMCIsIm9yZ2FuaXNhdGlvbiI6InRlc3Qtb3JnIiwib3JpZ2luIjoidHJpYnV0YXJ5LnRlc3QvbG9nIiwicGFyYW1ldGVycyI6eyJjb250cmlidXRpb24iOjN9LCJ0aW1lc3RhbXAiOiIyMDI2LTAxLTAxVDAwOjAwOjAwWiJ9","payloadType":"application/vnd.tributary.request.v2+json","signatures":[{"keyid":"test-org+5464441f","sig":"AAAA"}]}' > "$seeds_dir/request.json"
printf 'tributary.test/log\n3\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n' > "$seeds_dir/checkpoint.txt"
# A release manifest's payload and a policy (what an auditor parses), and the safetensors header that
# overflowed the element count (issue 25).
d=$(printf 'a%.0s' $(seq 64))
printf '{"anchor":{"sha256":"%s"},"createdAt":"2026-01-01T00:00:00Z","experts":[{"expert":0,"source":"anchor"},{"contribution":2,"expert":1,"expertSHA256":"%s","organisation":"acme","routingSHA256":"%s","source":"contribution","statementSHA256":"%s"}],"expertsPerToken":2,"files":{"config.json":"%s","model.safetensors":"%s","routing-index.safetensors":"%s"},"logSize":3,"release":1}' "$d" "$d" "$d" "$d" "$d" "$d" "$d" > "$seeds_dir/manifest.json"
printf '{"allowNoDP":false,"expertLayerSets":[[1]],"maxCentroidNorm":2,"maxDelta":1e-05,"maxEpsilon":10,"maxNormRatio":2,"maxProbeGateShare":0.9,"maxRouterRowRatio":4,"maxStatementAgeSeconds":2592000,"minClusterSize":32,"organisationEpsilonBudget":null,"probeTolerance":0.05,"requireDPRouterRows":false}' > "$seeds_dir/policy.json"
printf '\x4b\x00\x00\x00\x00\x00\x00\x00{"t":{"dtype":"U8","shape":[4294967296,2147483648,0],"data_offsets":[0,0]}}' > "$seeds_dir/overflow.safetensors"
declare -A seeds=(
  [FuzzSafetensorsHeader]="protocol/test-vectors/bundle/expert.safetensors protocol/test-vectors/bundle/routing.safetensors $seeds_dir/overflow.safetensors"
  [FuzzEnvelope]="protocol/test-vectors/bundle/envelope.json protocol/test-vectors/bundle/statement.json"
  [FuzzBundleArchive]="$seeds_dir/bundle.tar"
  [FuzzSignedRequest]="$seeds_dir/request.json $seeds_dir/checkpoint.txt"
  [FuzzAuditInputs]="$seeds_dir/manifest.json $seeds_dir/checkpoint.txt $seeds_dir/policy.json"
)
status=0
# Swift's own crash backtracer trips AddressSanitizer after a real failure; let libFuzzer report instead.
export SWIFT_BACKTRACE=enable=no
for target in FuzzSafetensorsHeader FuzzEnvelope FuzzBundleArchive FuzzSignedRequest FuzzAuditInputs; do
  corpus="$scratch/corpus/$target"
  mkdir -p "$corpus"
  for s in ${seeds[$target]}; do cp "$s" "$corpus/"; done
  echo "== $target for ${seconds}s"
  if ! "$bin/$target" "$corpus" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
        -artifact_prefix="$scratch/artifacts/$target-" -print_final_stats=1 2>"$scratch/$target.log"; then
    status=1
    echo "$target FAILED: see $scratch/$target.log and $scratch/artifacts/"
  fi
  grep -E "stat::number_of_executed_units|Done [0-9]+ runs|ERROR" "$scratch/$target.log" || true
done
exit $status
