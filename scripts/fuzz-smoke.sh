#!/usr/bin/env bash
# Runs every fuzz target for a short budget (FUZZ_SECONDS, default 20 s each) on corpora
# seeded from ../shared (fuzz/seed.sh). cargo-fuzz needs nightly flags: RUSTC_BOOTSTRAP=1
# lets the stable toolchain accept them. Exits non-zero if any target crashed; the input
# is kept in fuzz/artifacts/<target>/ (see fuzz/README.md for turning it into a test).
#
# FUZZ_FLAGS chooses the build. The default, `--dev --sanitizer none`, is what CI runs: an
# unoptimised build with debug assertions and libFuzzer's coverage, no AddressSanitizer (the
# code is safe Rust, so ASan mostly re-checks what the compiler does; it costs a sanitizer
# rebuild of every dependency, far beyond CI's budget on two cores). A nightly or local run
# uses FUZZ_FLAGS="" for cargo-fuzz's default: optimised, with ASan.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
budget="${FUZZ_SECONDS:-20}"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
./seed.sh
start=$(date +%s)
read -r -a flags <<<"${FUZZ_FLAGS---dev --sanitizer none}"
# An input that runs longer than this counts as a hang. Unoptimised code is ~10x slower: the
# seeded billion-laughs input (fuzz/seeds/aliases.yaml, stopped by the YAML node budget) takes
# ~2 s of CPU there, more on a loaded machine.
timeout=10
[[ " ${flags[*]} " == *" --dev "* ]] && timeout=60
cargo fuzz build "${flags[@]}"
echo "== fuzz build: $(( $(date +%s) - start )) s"
# libFuzzer first runs the whole corpus, whatever -max_total_time says: over a thousand seeds in
# an unoptimised build take minutes. FUZZ_SAMPLE seeds per target (default 40 for --dev builds,
# all otherwise), drawn the same way every run, bound that; what they find is kept only in a
# temporary corpus, crashes in fuzz/artifacts/ as always.
sample="${FUZZ_SAMPLE:-}"
[ -z "$sample" ] && [[ " ${flags[*]} " == *" --dev "* ]] && sample=40
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
failed=()
for t in $(cargo fuzz list); do
  corpus="corpus/$t"
  if [ -n "$sample" ]; then
    corpus="$scratch/$t"
    mkdir -p "$corpus"
    find "corpus/$t" -type f | sort | awk -v n="$sample" 'BEGIN {srand(1)} {a[NR] = $0}
      END {for (i = 1; i <= NR && i <= n; i++) {j = i + int(rand() * (NR - i + 1)); t = a[i]; a[i] = a[j]; a[j] = t; print a[i]}}' |
      xargs -r cp -t "$corpus"
  fi
  echo "== fuzz $t for ${budget}s ($(find "$corpus" -type f | wc -l) seeds)"
  if ! cargo fuzz run "${flags[@]}" "$t" "$corpus" -- -max_total_time="$budget" -timeout="$timeout" -rss_limit_mb=2048 -len_control=0 \
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
