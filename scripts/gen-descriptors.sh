#!/usr/bin/env bash
# Regenerates core/src/xds/envoy.desc.bin from the protos of the envoy-types crate in Cargo.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(cargo metadata --format-version 1 --locked | python3 -c '
import json, sys, os
m = json.load(sys.stdin)
p = [p for p in m["packages"] if p["name"] == "envoy-types"][0]
print(os.path.join(os.path.dirname(p["manifest_path"]), "proto"))')
cargo run --release --manifest-path tools/descriptors/Cargo.toml -- "$dir" core/src/xds/envoy.desc.bin
