# Sourced by the benchmark scripts: the repository root, bounded waits (scripts/lib.sh), the setup and
# release builds, scratch directories and background processes removed on exit, and the imported
# SmolLM2 anchor several benchmarks share.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

# bench_build [PRODUCT...]: scripts/setup.sh (quiet), then a release build of each product (all when none).
bench_build() {
  scripts/setup.sh >/dev/null
  if [ $# -eq 0 ]; then swift build -c release >/dev/null; fi
  for product in "$@"; do swift build -c release --product "$product" >/dev/null; done
}

# Removed on exit: every directory bench_scratch made, every pid in bench_pids, and what on_exit added.
bench_dirs=()
bench_pids=()
bench_exit_commands=()
bench_cleanup() {
  local c p d
  for c in "${bench_exit_commands[@]+"${bench_exit_commands[@]}"}"; do eval "$c" || true; done
  for p in "${bench_pids[@]+"${bench_pids[@]}"}"; do kill "$p" 2>/dev/null || true; done
  for d in "${bench_dirs[@]+"${bench_dirs[@]}"}"; do rm -rf "$d"; done
}
trap bench_cleanup EXIT
on_exit() { bench_exit_commands+=("$1"); }

# bench_scratch LABEL: prints a fresh directory /tmp/tributary-LABEL-XXXXXX, removed on exit.
# Call it as `dir=$(bench_scratch x)` and then `bench_keep "$dir"` (a subshell cannot register it).
bench_scratch() { mktemp -d "/tmp/tributary-$1-XXXXXX"; }
bench_keep() { bench_dirs+=("$1"); }

# smollm2_anchor: the SmolLM2-135M anchor imported once into .bench/smollm2-anchor; prints its path.
# Router rows and centroids from 60 KB of licences; a small signature space (4 dimensions) fitted on
# Linux headers, since a whitened space needs 8 public documents a dimension and the licences are 6
# files (the benchmarks time training and inference, not routing).
smollm2_anchor() {
  local anchor=.bench/smollm2-anchor
  mkdir -p .bench
  if [ ! -f "$anchor/anchor.json" ]; then
    rm -rf "$anchor"
    .build/release/tributary anchor import --gguf "$(scripts/smollm2-gguf.sh)" --public /usr/share/common-licenses \
      --max-bytes 60000 --signature-dimension 4 --signature-text /usr/include/linux --signature-max-bytes 600000 --out "$anchor" >&2
  fi
  echo "$anchor"
}
