#!/usr/bin/env bash
# The quickstart: installs Envoy if missing, builds, starts the echo backend on 127.0.0.1:3000
# and `gatewright serve` on examples/quickstart (status in examples/quickstart/.status/).
# Then, from another shell:
#   curl --header "Host: www.example.com" 127.0.0.1:8080/headers
# Stop with Ctrl-C: the controller stops Envoy and the echo backend goes with it.
set -euo pipefail
cd "$(dirname "$0")/.."
export GATEWRIGHT_ENVOY="${GATEWRIGHT_ENVOY:-$(scripts/install-envoy.sh)}"
cargo build --release -p gatewright-controller -p gatewright-echo
target/release/gatewright-echo --listen 127.0.0.1:3000 &
echo_pid=$!
trap 'kill $echo_pid 2>/dev/null || true' EXIT
echo "Quickstart: try   curl --header 'Host: www.example.com' 127.0.0.1:8080/headers"
echo "            and   cat examples/quickstart/.status/gatewayclass.my-envoy-gateway.yaml"
target/release/gatewright serve --config-dir examples/quickstart "$@"
