#!/usr/bin/env bash
# Gateway API v1.6.1 conformance, offline (examples/conformance): gatewright serve, real Envoy,
# local echo backends, the expectations in ../shared/gateway-api/v1.6.1/conformance.
#
#   scripts/conformance.sh              the tests of examples/conformance/baseline.txt; fails when
#                                       one of them no longer passes
#   CONFORMANCE_ALL=1 scripts/conformance.sh   every test, with the same regression check (what CI
#                                       runs; tests upstream marks parallel run 4 at a time)
#   scripts/conformance.sh --run NAME   one test, for debugging (no baseline comparison)
#
# Writes conformance-report.yaml (REPORT=...). Uses the debug binaries scripts/test.sh builds;
# CONFORMANCE_PROFILE=release for release ones.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${SHARED:-../shared}"
if [ ! -d "$SHARED/gateway-api/v1.6.1/conformance/expectations" ]; then
  echo "conformance: $SHARED/gateway-api/v1.6.1/conformance is absent; skipping"
  exit 0
fi
export GATEWRIGHT_ENVOY="${GATEWRIGHT_ENVOY:-$(scripts/install-envoy.sh)}"
profile="${CONFORMANCE_PROFILE:-debug}"
flag=()
[ "$profile" = release ] && flag=(--release)
cargo build "${flag[@]}" -p gatewright-conformance -p gatewright-controller -p gatewright-echo
baseline=examples/conformance/baseline.txt
expected="$(grep -v '^#' "$baseline" | sed '/^$/d' | sort)"
args=("$@")
if [ $# -eq 0 ] && [ -z "${CONFORMANCE_ALL:-}" ]; then
  for t in $expected; do args+=(--run "$t"); done
fi
passed="$(mktemp)"
trap 'rm -f "$passed"' EXIT
"target/$profile/gatewright-conformance" --shared "$SHARED" --report "${REPORT:-conformance-report.yaml}" \
  --passed-list "$passed" "${args[@]}"
[ $# -eq 0 ] || exit 0
regressions="$(comm -23 <(echo "$expected") <(sed '/^$/d' "$passed" | sort))"
if [ -n "$regressions" ]; then
  echo "conformance: regressions from $baseline:"
  echo "$regressions" | sed 's/^/  /'
  exit 1
fi
new="$(comm -13 <(echo "$expected") <(sed '/^$/d' "$passed" | sort))"
if [ -n "$new" ]; then
  echo "conformance: passing now, not yet in $baseline (add them):"
  echo "$new" | sed 's/^/  /'
fi
echo "conformance: no regression from $baseline"
