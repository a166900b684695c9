#!/usr/bin/env bash
# Gateway API v1.6.1 conformance, offline: builds the harness, gatewright and the echo backend,
# runs every test of ../shared/gateway-api/v1.6.1/conformance/expectations with real Envoy, writes
# conformance-report.yaml, and fails when a test listed in examples/conformance/baseline.txt
# (the committed passing tests) no longer passes.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${SHARED:-../shared}"
if [ ! -d "$SHARED/gateway-api/v1.6.1/conformance/expectations" ]; then
  echo "conformance: $SHARED/gateway-api/v1.6.1/conformance is absent; skipping"
  exit 0
fi
export GATEWRIGHT_ENVOY="${GATEWRIGHT_ENVOY:-$(scripts/install-envoy.sh)}"
cargo build --release -p gatewright-conformance -p gatewright-controller -p gatewright-echo
passed="$(mktemp)"
trap 'rm -f "$passed"' EXIT
target/release/gatewright-conformance --shared "$SHARED" --report "${REPORT:-conformance-report.yaml}" \
  --passed-list "$passed" "$@"
baseline=examples/conformance/baseline.txt
regressions="$(comm -23 <(grep -v '^#' "$baseline" | sed '/^$/d' | sort) <(sed '/^$/d' "$passed" | sort))"
if [ $# -eq 0 ] && [ -n "$regressions" ]; then
  echo "conformance: regressions from $baseline:"
  echo "$regressions" | sed 's/^/  /'
  exit 1
fi
new="$(comm -13 <(grep -v '^#' "$baseline" | sed '/^$/d' | sort) <(sed '/^$/d' "$passed" | sort))"
if [ -n "$new" ]; then
  echo "conformance: passing now, not yet in $baseline (add them):"
  echo "$new" | sed 's/^/  /'
fi
echo "conformance: no regression from $baseline"
