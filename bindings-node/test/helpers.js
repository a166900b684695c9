'use strict'
const { readFileSync } = require('node:fs')
const { join } = require('node:path')

const quickstartDir = join(__dirname, '..', '..', 'examples', 'quickstart')
const quickstartText = ['quickstart.yaml', 'httpbin-service.yaml']
  .map((f) => readFileSync(join(quickstartDir, f), 'utf8'))
  .join('\n---\n')

/** A route whose parentRef names a listener the Gateway does not have. */
const brokenRoute = `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: broken
  namespace: default
spec:
  parentRefs:
  - name: insecure-port
    sectionName: https
  hostnames:
  - broken.example.com
  rules:
  - backendRefs:
    - name: httpbin
      port: 8000
`

/** `n` HTTPRoutes on the quickstart Gateway, each with its own hostname and path. */
function generatedRoutes(n) {
  const docs = []
  for (let i = 0; i < n; i++) {
    docs.push(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: route-${i}
  namespace: default
spec:
  parentRefs:
  - name: insecure-port
  hostnames:
  - app-${i % 100}.example.com
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: /svc-${i}
      headers:
      - name: x-tenant
        value: t${i}
    backendRefs:
    - name: httpbin
      port: 8000
`)
  }
  return docs.join('---\n')
}

function statusOf(t, kind, name, namespace = 'default') {
  return t.status.find(
    (s) => s.kind === kind && s.metadata.name === name && (kind === 'GatewayClass' || s.metadata.namespace === namespace),
  )
}

function condition(conditions, type) {
  return (conditions || []).find((c) => c.type === type)
}

module.exports = { quickstartDir, quickstartText, brokenRoute, generatedRoutes, statusOf, condition }
