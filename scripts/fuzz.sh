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
declare -A seeds=(
  [FuzzSafetensorsHeader]="protocol/test-vectors/bundle/expert.safetensors protocol/test-vectors/bundle/routing.safetensors"
  [FuzzEnvelope]="protocol/test-vectors/bundle/envelope.json protocol/test-vectors/bundle/statement.json"
  [FuzzBundleArchive]="$seeds_dir/bundle.tar"
  [FuzzSignedRequest]="$seeds_dir/request.json $seeds_dir/checkpoint.txt"
)
status=0
# Swift's own crash backtracer trips AddressSanitizer after a real failure; let libFuzzer report instead.
export SWIFT_BACKTRACE=enable=no
for target in FuzzSafetensorsHeader FuzzEnvelope FuzzBundleArchive FuzzSignedRequest; do
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
