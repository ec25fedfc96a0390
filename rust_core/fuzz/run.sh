#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60) and keeps the corpus between runs.
#   rust_core/fuzz/run.sh [SECONDS]
# Needs cargo-fuzz (`cargo install cargo-fuzz`). The stable toolchain is enough with RUSTC_BOOTSTRAP=1,
# which lets cargo-fuzz pass its sanitizer flags.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
# The sanitizer build is slow (the vector engine's C++ too); keep it where the machine keeps caches.
export CARGO_TARGET_DIR="${XLQE_FUZZ_TARGET_DIR:-$HOME/.cache/xlqe-lite/fuzz-target}"
status=0
for target in analyzer segment_loader query; do
  mkdir -p "corpus/$target"
  log="$(mktemp)"
  if RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "corpus/$target" -- -max_total_time="$seconds" -rss_limit_mb=2048 >"$log" 2>&1; then
    echo "fuzzed $target for ${seconds}s: $(grep -E '^Done' "$log" | tail -1)"
  else
    if grep -qE "panicked|ERROR|SUMMARY|==[0-9]+==" "$log"; then
      echo "FUZZ FAILURE in $target (input saved under rust_core/fuzz/artifacts/$target):"
      grep -E "panicked|ERROR|SUMMARY|==[0-9]+==" "$log" | head -20
    else  # no crash: the build (or cargo-fuzz itself) failed; say how
      echo "FUZZ RUN FAILED for $target before fuzzing:"
      tail -25 "$log"
    fi
    status=1
  fi
  rm -f "$log"
done
exit $status
