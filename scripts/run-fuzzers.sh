#!/usr/bin/env bash
# Runs every libFuzzer target of the fuzz build for FUZZ_SECONDS each (default 60), starting from
# and adding to its corpus in fuzz/corpus/<target>. Crashes land in fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SECONDS:-60}
mkdir -p fuzz/artifacts
for bin in build/fuzz/*_fuzz; do
  name=$(basename "$bin")
  mkdir -p "fuzz/corpus/$name"
  echo "== $name (${SECONDS_EACH}s)"
  "$bin" -max_total_time="$SECONDS_EACH" -artifact_prefix="fuzz/artifacts/$name-" "fuzz/corpus/$name"
done
