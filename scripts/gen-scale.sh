#!/usr/bin/env bash
# Writes the scale-test input into DIR: one GatewayClass and Gateway (an HTTP listener on
# PORT), N HTTPRoutes over 5 hostnames (host-{i%5}.example.com, path /svc-{i}), each sending
# to its own Service svc-{i}, whose EndpointSlice points at ENDPOINT (address:port).
# One file per route and per Service, so one edit is one file.
#
#   scripts/gen-scale.sh N DIR [PORT] [ENDPOINT]     # defaults: 18080, 127.0.0.1:3000
set -euo pipefail
n=${1:?usage: gen-scale.sh N DIR [PORT] [ENDPOINT]}
dir=${2:?usage: gen-scale.sh N DIR [PORT] [ENDPOINT]}
port=${3:-18080}
endpoint=${4:-127.0.0.1:3000}
addr=${endpoint%:*}
eport=${endpoint##*:}
mkdir -p "$dir/routes" "$dir/services"
cat > "$dir/gateway.yaml" <<YAML
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: eg}
spec: {controllerName: gateway.envoyproxy.io/gatewayclass-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: eg
  listeners:
  - {name: http, port: $port, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
YAML
for ((i = 0; i < n; i++)); do
  printf 'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: route-%d, namespace: default}\nspec:\n  parentRefs: [{name: gw}]\n  hostnames: ["host-%d.example.com"]\n  rules:\n  - matches: [{path: {type: PathPrefix, value: "/svc-%d"}}]\n    backendRefs: [{name: svc-%d, port: 8080}]\n' \
    "$i" $((i % 5)) "$i" "$i" > "$dir/routes/route-$i.yaml"
  printf 'apiVersion: v1\nkind: Service\nmetadata: {name: svc-%d, namespace: default}\nspec: {ports: [{name: http, port: 8080}]}\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: svc-%d-a, namespace: default, labels: {kubernetes.io/service-name: svc-%d}}\naddressType: IPv4\nports: [{name: http, port: %d}]\nendpoints: [{addresses: ["%s"]}]\n' \
    "$i" "$i" "$i" "$eport" "$addr" > "$dir/services/svc-$i.yaml"
done
