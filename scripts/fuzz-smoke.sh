#!/usr/bin/env bash
# Runs every fuzz target for a short budget (FUZZ_SECONDS, default 20 s each) on corpora
# seeded from ../shared (fuzz/seed.sh). cargo-fuzz needs nightly flags: RUSTC_BOOTSTRAP=1
# lets the stable toolchain accept them. Exits non-zero if any target crashed; the input
# is kept in fuzz/artifacts/<target>/ (see fuzz/README.md for turning it into a test).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
budget="${FUZZ_SECONDS:-20}"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
./seed.sh
start=$(date +%s)
cargo fuzz build
echo "== fuzz build: $(( $(date +%s) - start )) s"
failed=()
for t in $(cargo fuzz list); do
  echo "== fuzz $t for ${budget}s"
  if ! cargo fuzz run "$t" -- -max_total_time="$budget" -timeout=10 -rss_limit_mb=2048 -len_control=0 \
      -print_final_stats=1 2>&1 | tail -n 25; then
    failed+=("$t")
  fi
done
echo "== fuzz smoke: $(( $(date +%s) - start )) s in all"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz targets that crashed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
echo "${#failed[@]} crashed: every target ran ${budget}s"
