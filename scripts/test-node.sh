#!/usr/bin/env bash
# Node: the `gatewright` npm package (bindings-node/) and the portal (examples/portal/).
# Installs what they need (npm ci; Debian chromium for the browser test when
# /usr/bin/chromium is missing), builds the addon (debug profile unless
# GATEWRIGHT_NODE_PROFILE says otherwise: it reuses the workspace's debug build), checks the
# committed index.d.ts is what the Rust code generates, then runs both `node --test` suites.
set -euo pipefail
cd "$(dirname "$0")/.."
export GATEWRIGHT_NODE_PROFILE="${GATEWRIGHT_NODE_PROFILE:-debug}"
npm_flags=(--no-audit --no-fund --loglevel=error)

if ! command -v node >/dev/null 2>&1; then
  echo "error: node (>= 20) is not on PATH" >&2
  exit 1
fi
if [ ! -x /usr/bin/chromium ]; then
  echo "== installing chromium (Debian) for the portal's browser test"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

echo "== bindings-node: npm ci, build ($GATEWRIGHT_NODE_PROFILE)"
(cd bindings-node && npm ci --ignore-scripts "${npm_flags[@]}")
(cd bindings-node && node scripts/build.js)
if git rev-parse --is-inside-work-tree >/dev/null 2>&1 && ! git diff --quiet -- bindings-node/index.d.ts; then
  echo "error: bindings-node/index.d.ts differs from what src/lib.rs generates; commit the regenerated file:" >&2
  git --no-pager diff --stat -- bindings-node/index.d.ts >&2
  exit 1
fi

echo "== examples/portal: npm ci"
# The addon is built above: the linked package's install script need not run again.
(cd examples/portal && npm ci --ignore-scripts "${npm_flags[@]}")

echo "== node --test bindings-node"
(cd bindings-node && node --test test/*.test.js)
echo "== node --test examples/portal (chromium)"
(cd examples/portal && PORTAL_REQUIRE_BROWSER=1 node --test test/*.test.js)
