'use strict'
// What the portal shows, computed with the gatewright package: the manifests of a directory
// (one file at a time, so one broken file does not hide the rest) with an optional pasted
// YAML on top, translated; then Gateways, listeners, the routes attached to each listener,
// rejected routes and the Envoy config per Gateway, as plain data for the renderer (and
// for GET /api/model).

const fs = require('node:fs/promises')
const path = require('node:path')
const gw = require('gatewright')

const ROUTE_KINDS = ['HTTPRoute', 'GRPCRoute', 'TLSRoute', 'TCPRoute', 'UDPRoute']
const GATEWAY_GROUP = 'gateway.networking.k8s.io'

/** Manifest files under `dir` in a stable order, as the controller reads them (hidden entries skipped). */
async function manifestFiles(dir) {
  const st = await fs.stat(dir)
  if (!st.isDirectory()) return [dir]
  const out = []
  const entries = (await fs.readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))
  for (const e of entries) {
    if (e.name.startsWith('.')) continue
    const p = path.join(dir, e.name)
    if (e.isDirectory()) out.push(...(await manifestFiles(p)))
    else if (/\.(ya?ml|json)$/.test(e.name)) out.push(p)
  }
  return out
}

const keyOf = (o) => `${o.kind}/${o.metadata.namespace ? o.metadata.namespace + '/' : ''}${o.metadata.name}`

function errorEntry(where, e) {
  return {
    where,
    name: e && e.name ? e.name : 'Error',
    message: e && e.message ? e.message : String(e),
    diagnostics: (e && e.diagnostics) || [],
  }
}

/**
 * Loads `dir` (may be null) and `pasted` (may be empty), pasted objects replacing the
 * directory's objects of the same kind, namespace and name.
 */
async function loadInputs(dir, pasted) {
  const errors = []
  const objects = new Map()
  const origin = new Map()
  if (dir) {
    let files = []
    try {
      files = await manifestFiles(dir)
    } catch (e) {
      errors.push(errorEntry(dir, e))
    }
    for (const file of files) {
      try {
        for (const o of await gw.loadAsync(file)) {
          objects.set(keyOf(o), o)
          origin.set(keyOf(o), path.relative(dir, file) || path.basename(file))
        }
      } catch (e) {
        errors.push(errorEntry(path.relative(dir, file) || file, e))
      }
    }
  }
  if (pasted && pasted.trim()) {
    try {
      for (const o of await gw.loadAsync(pasted)) {
        objects.set(keyOf(o), o)
        origin.set(keyOf(o), 'pasted')
      }
    } catch (e) {
      errors.push(errorEntry('pasted YAML', e))
    }
  }
  return { objects: [...objects.values()], origin, errors }
}

const cond = (conditions, type) => (conditions || []).find((c) => c.type === type)

/** Whether a listener hostname (undefined: any) and a route's hostnames (empty: any) intersect. */
function hostnamesIntersect(listenerHost, routeHosts) {
  if (!listenerHost || !routeHosts || routeHosts.length === 0) return true
  const matches = (wild, host) => wild.startsWith('*.') && host.endsWith(wild.slice(1)) && host.length > wild.length - 1
  return routeHosts.some(
    (h) => h === listenerHost || matches(listenerHost, h) || matches(h, listenerHost) ||
      (h.startsWith('*.') && listenerHost.startsWith('*.') && (h.endsWith(listenerHost.slice(1)) || listenerHost.endsWith(h.slice(1)))),
  )
}

function describeHttpMatch(m) {
  const parts = []
  if (m.path) parts.push(`${m.path.type || 'PathPrefix'} ${m.path.value}`)
  if (m.method) parts.push(m.method)
  for (const h of m.headers || []) parts.push(`${h.name}${h.type === 'RegularExpression' ? '~' : '='}${h.value}`)
  for (const q of m.queryParams || []) parts.push(`?${q.name}${q.type === 'RegularExpression' ? '~' : '='}${q.value}`)
  return parts.join(' · ') || 'any request'
}

function describeGrpcMatch(m) {
  const parts = []
  if (m.method) parts.push(`${m.method.service || '*'}/${m.method.method || '*'}`)
  for (const h of m.headers || []) parts.push(`${h.name}=${h.value}`)
  return parts.join(' · ') || 'any call'
}

function describeRules(route) {
  return (route.spec.rules || []).map((rule, i) => {
    let matches = []
    if (route.kind === 'HTTPRoute') matches = (rule.matches || [{}]).map(describeHttpMatch)
    else if (route.kind === 'GRPCRoute') matches = (rule.matches || [{}]).map(describeGrpcMatch)
    else matches = ['all connections']
    const backends = (rule.backendRefs || []).map((b) => ({
      kind: b.kind || 'Service',
      namespace: b.namespace || route.metadata.namespace,
      name: b.name,
      port: b.port,
      weight: b.weight === undefined ? 1 : b.weight,
    }))
    const filters = (rule.filters || []).map((f) => f.type)
    return { name: rule.name || `rule ${i}`, matches, backends, filters }
  })
}

/** Whether a parentRef names this Gateway. */
function refersTo(ref, routeNs, gateway) {
  return (
    (ref.group || GATEWAY_GROUP) === GATEWAY_GROUP &&
    (ref.kind || 'Gateway') === 'Gateway' &&
    ref.name === gateway.metadata.name &&
    (ref.namespace || routeNs) === gateway.metadata.namespace
  )
}

function listenerAllows(listener, listenerStatus, route, gateway) {
  const kinds = listenerStatus ? listenerStatus.supportedKinds.map((k) => k.kind) : []
  if (kinds.length && !kinds.includes(route.kind)) return false
  const from = listener.allowedRoutes?.namespaces?.from || 'Same'
  if (from === 'Same' && route.metadata.namespace !== gateway.metadata.namespace) return false
  if (['HTTPRoute', 'GRPCRoute', 'TLSRoute'].includes(route.kind)) {
    return hostnamesIntersect(listener.hostname, route.spec.hostnames)
  }
  return true
}

/** Everything the page shows. */
async function computeModel({ dir = null, pasted = '', controllerName } = {}) {
  const started = Date.now()
  const { objects, origin, errors } = await loadInputs(dir, pasted)
  let translation = null
  let validation = []
  if (objects.length) {
    try {
      translation = await gw.translateAsync(objects, controllerName ? { controllerName } : {})
    } catch (e) {
      errors.push(errorEntry('translation', e))
    }
    try {
      validation = (await gw.validateAsync(objects)).filter((d) => d.severity === 'error')
    } catch (e) {
      errors.push(errorEntry('validation', e))
    }
  }
  const status = new Map((translation ? translation.status : []).map((s) => [keyOf(s), s.status]))

  const routes = objects
    .filter((o) => ROUTE_KINDS.includes(o.kind))
    .map((o) => ({
      key: keyOf(o),
      kind: o.kind,
      namespace: o.metadata.namespace,
      name: o.metadata.name,
      origin: origin.get(keyOf(o)),
      hostnames: o.spec.hostnames || [],
      rules: describeRules(o),
      parents: (status.get(keyOf(o))?.parents || []).map((p) => ({ parentRef: p.parentRef, conditions: p.conditions })),
      object: o,
    }))

  const classes = objects
    .filter((o) => o.kind === 'GatewayClass')
    .map((o) => ({
      name: o.metadata.name,
      controllerName: o.spec.controllerName,
      origin: origin.get(keyOf(o)),
      conditions: status.get(keyOf(o))?.conditions || [],
    }))

  const gateways = objects
    .filter((o) => o.kind === 'Gateway')
    .sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1))
    .map((g) => {
      const key = `${g.metadata.namespace}/${g.metadata.name}`
      const st = status.get(keyOf(g))
      const listeners = (g.spec.listeners || []).map((l) => {
        const ls = (st?.listeners || []).find((x) => x.name === l.name)
        const attached = []
        for (const r of routes) {
          for (const p of r.parents) {
            const ref = p.parentRef
            if (!refersTo(ref, r.namespace, g)) continue
            if (cond(p.conditions, 'Accepted')?.status !== 'True') continue
            if (ref.sectionName && ref.sectionName !== l.name) continue
            if (ref.port !== undefined && ref.port !== l.port) continue
            if (!listenerAllows(l, ls, r.object, g)) continue
            if (!attached.includes(r.key)) attached.push(r.key)
          }
        }
        return {
          name: l.name,
          protocol: l.protocol,
          port: l.port,
          hostname: l.hostname || null,
          conditions: ls?.conditions || [],
          attachedRoutes: ls ? ls.attachedRoutes : null,
          routes: attached,
        }
      })
      let bootstrap = null
      if (translation && translation.xds[key]) {
        try {
          bootstrap = translation.bootstrap(key)
        } catch {
          bootstrap = null
        }
      }
      return {
        key,
        namespace: g.metadata.namespace,
        name: g.metadata.name,
        className: g.spec.gatewayClassName,
        origin: origin.get(keyOf(g)),
        managed: Boolean(st),
        conditions: st?.conditions || [],
        addresses: st?.addresses || [],
        listeners,
        xds: translation ? translation.xds[key] || null : null,
        bootstrap,
      }
    })

  // Routes some parent did not accept, or whose references do not resolve: why, per parent.
  const rejected = []
  for (const r of routes) {
    for (const p of r.parents) {
      for (const c of p.conditions) {
        if (c.status === 'False' || (c.type === 'Accepted' && c.status !== 'True')) {
          rejected.push({ route: r.key, kind: r.kind, namespace: r.namespace, name: r.name, origin: r.origin, parentRef: p.parentRef, condition: c })
        }
      }
    }
  }
  const unowned = routes.filter((r) => r.parents.length === 0).map((r) => ({
    route: r.key,
    origin: r.origin,
    parentRefs: r.object.spec.parentRefs || [],
  }))

  return {
    source: { dir, pasted: Boolean(pasted && pasted.trim()) },
    computedAt: new Date().toISOString(),
    durationMs: Date.now() - started,
    errors,
    validation,
    warnings: translation ? translation.diagnostics : [],
    classes,
    gateways,
    routes: Object.fromEntries(routes.map(({ object, ...r }) => [r.key, r])),
    rejected,
    unowned,
  }
}

module.exports = { computeModel, manifestFiles, hostnamesIntersect }
