#!/usr/bin/env bash
# Seeds the fuzz corpora from the shared reference manifests (../shared, next to the repo)
# and the hand-written seeds in fuzz/seeds/. Copies are made at run time into
# fuzz/corpus/<target>/ (ignored by git): nothing from ../shared is committed.
#
#   load, validate, translate_yaml: Gateway API v1.6.1 conformance manifests (placeholders
#     filled in, with a GatewayClass of ours), every CEL validation case's object, the
#     Envoy Gateway v1.9.0 translator inputs, the quickstart.
#   translate, xds_request: structured inputs (arbitrary); they start from empty corpora.
set -euo pipefail
cd "$(dirname "$0")"
shared="${GATEWRIGHT_SHARED:-../../shared}"
for t in load validate translate translate_yaml xds_request; do
  mkdir -p "corpus/$t"
done
copy() { # copy FILE NAME: into every byte-oriented corpus
  for t in load validate translate_yaml; do
    cp "$1" "corpus/$t/$2"
  done
}
for f in seeds/*.yaml ../examples/quickstart/*.yaml; do
  [ -f "$f" ] && copy "$f" "seed-$(basename "$f")"
done
if [ ! -d "$shared" ]; then
  echo "note: $shared is absent; seeded only from fuzz/seeds and examples/quickstart" >&2
  exit 0
fi
controller=gateway.envoyproxy.io/gatewayclass-controller
conf="$shared/gateway-api/v1.6.1/conformance"
n=0
for f in "$conf"/base/*.yaml "$conf"/tests/*.yaml; do
  [ -f "$f" ] || continue
  out="$(mktemp)"
  {
    printf 'apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: fuzz}\nspec: {controllerName: %s}\n---\n' "$controller"
    sed -e 's/{GATEWAY_CLASS_NAME}/fuzz/g' -e "s#{GATEWAY_CONTROLLER_NAME}#$controller#g" "$f"
  } > "$out"
  # libFuzzer's default -max_len is 4 KiB unless told; larger seeds are still useful with -max_len.
  copy "$out" "conformance-$(basename "$(dirname "$f")")-$(basename "$f")"
  rm -f "$out"
  n=$((n + 1))
done
# Each CEL case's object, as its own manifest.
cel=0
for f in "$shared"/gateway-api/v1.6.1/cel-cases/*.yaml; do
  [ -f "$f" ] || continue
  python3 - "$f" "corpus" "$(basename "$f" .yaml)" <<'PY'
import sys, os
src, corpus, stem = sys.argv[1:4]
cases, cur, inside = [], None, False
for line in open(src, encoding="utf-8"):
    if line.rstrip("\n") == "  object:":
        cur, inside = [], True
        continue
    if inside:
        if line.startswith("    ") or not line.strip():
            cur.append(line[4:])
            continue
        cases.append("".join(cur))
        inside = False
if inside and cur:
    cases.append("".join(cur))
for i, text in enumerate(cases):
    for t in ("load", "validate", "translate_yaml"):
        with open(os.path.join(corpus, t, f"cel-{stem}-{i:03}.yaml"), "w", encoding="utf-8") as out:
            out.write(text)
PY
  cel=$((cel + 1))
done
eg=0
for f in "$shared"/envoy-gateway/v1.9.0/testdata/gatewayapi/*.in.yaml; do
  [ -f "$f" ] || continue
  copy "$f" "eg-$(basename "$f")"
  eg=$((eg + 1))
done
echo "seeded: $n conformance manifests, CEL cases of $cel files, $eg Envoy Gateway inputs" >&2
