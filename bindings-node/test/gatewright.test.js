'use strict'
// The same cases as the Python suite: the quickstart manifests, a rejected route, bad YAML,
// a large input (1,000 routes), and concurrency (async variants on the libuv pool, workers).

const test = require('node:test')
const assert = require('node:assert/strict')
const { Worker } = require('node:worker_threads')
const { join } = require('node:path')

const gw = require('..')
const { quickstartDir, quickstartText, brokenRoute, generatedRoutes, statusOf, condition } = require('./helpers')

test('load: a directory, text and objects give the same manifests, with CRD defaults', () => {
  const fromDir = gw.load(quickstartDir)
  assert.deepEqual(
    fromDir.map((o) => `${o.kind}/${o.metadata.name}`).sort(),
    ['EndpointSlice/httpbin-local', 'Gateway/insecure-port', 'GatewayClass/my-envoy-gateway', 'HTTPRoute/httpbin', 'Service/httpbin'],
  )
  const route = fromDir.find((o) => o.kind === 'HTTPRoute')
  // Defaults the API server would apply.
  assert.equal(route.spec.parentRefs[0].group, 'gateway.networking.k8s.io')
  assert.equal(route.spec.parentRefs[0].kind, 'Gateway')
  const byKey = (list) => Object.fromEntries(list.map((o) => [`${o.kind}/${o.metadata.name}`, o]))
  assert.deepEqual(byKey(gw.load(quickstartText)), byKey(fromDir))
  assert.deepEqual(byKey(gw.load(fromDir)), byKey(fromDir))
  assert.deepEqual(gw.load(route), [route])
  // Unknown kinds are skipped, not errors.
  assert.deepEqual(gw.load('apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n'), [])
})

test('quickstart: valid, translated to Envoy resources, every object accepted', () => {
  assert.deepEqual(gw.validate(quickstartDir), [])
  const t = gw.translate(quickstartDir)
  assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(t))), ['xds', 'status', 'diagnostics'])
  assert.deepEqual(Object.keys(t.xds), ['default/insecure-port'])
  const x = t.xds['default/insecure-port']
  assert.equal(x.listeners[0].name, 'default/insecure-port/8080')
  assert.equal(x.listeners[0].address.socket_address.port_value, 8080)
  const vhosts = x.routes[0].virtual_hosts
  assert.deepEqual(vhosts.map((v) => v.domains), [['www.example.com', 'www.example.com:*']])
  assert.deepEqual(vhosts[0].routes[0].match, { prefix: '/' })
  assert.equal(vhosts[0].routes[0].route.cluster, 'default/httpbin/8000')
  assert.deepEqual(x.clusters.map((c) => c.name), ['default/httpbin/8000'])
  assert.equal(x.endpoints[0].endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value, 3000)

  assert.equal(condition(statusOf(t, 'GatewayClass', 'my-envoy-gateway').status.conditions, 'Accepted').status, 'True')
  const gateway = statusOf(t, 'Gateway', 'insecure-port').status
  assert.equal(condition(gateway.conditions, 'Programmed').status, 'True')
  assert.equal(gateway.listeners[0].attachedRoutes, 1)
  const parent = statusOf(t, 'HTTPRoute', 'httpbin').status.parents[0]
  assert.equal(parent.controllerName, 'gateway.envoyproxy.io/gatewayclass-controller')
  assert.equal(condition(parent.conditions, 'Accepted').status, 'True')
  assert.equal(condition(parent.conditions, 'ResolvedRefs').status, 'True')

  // Text and objects translate the same.
  const plain = (v) => JSON.parse(JSON.stringify(v))
  assert.deepEqual(plain(gw.translate(quickstartText)), plain(t))
  assert.deepEqual(plain(gw.translate(gw.load(quickstartDir))), plain(t))

  // A static bootstrap for `envoy -c`.
  const b = t.bootstrap('default/insecure-port')
  assert.deepEqual(t.bootstrap('insecure-port'), b)
  assert.equal(b.static_resources.listeners[0].address.socket_address.address, '0.0.0.0')
  assert.equal(t.bootstrap('insecure-port', '127.0.0.1').static_resources.listeners[0].address.socket_address.address, '127.0.0.1')
  assert.throws(() => t.bootstrap('default/nope'), (e) => e instanceof gw.GatewrightError && /no Gateway default\/nope/.test(e.message))
})

test('controllerName: GatewayClasses of another controller are left alone', () => {
  const t = gw.translate(quickstartDir, { controllerName: 'example.com/other' })
  assert.deepEqual(t.xds, {})
  assert.equal(statusOf(t, 'GatewayClass', 'my-envoy-gateway'), undefined)
})

test('a route naming a missing listener is rejected: Accepted False, NoMatchingParent', () => {
  const t = gw.translate(quickstartText + '\n---\n' + brokenRoute)
  const parent = statusOf(t, 'HTTPRoute', 'broken').status.parents[0]
  assert.equal(parent.parentRef.sectionName, 'https')
  const accepted = condition(parent.conditions, 'Accepted')
  assert.equal(accepted.status, 'False')
  assert.equal(accepted.reason, 'NoMatchingParent')
  // The accepted route is untouched, and the rejected one reaches no Envoy resource.
  assert.equal(condition(statusOf(t, 'HTTPRoute', 'httpbin').status.parents[0].conditions, 'Accepted').status, 'True')
  assert.equal(statusOf(t, 'Gateway', 'insecure-port').status.listeners[0].attachedRoutes, 1)
  const domains = t.xds['default/insecure-port'].routes.flatMap((r) => r.virtual_hosts.flatMap((v) => v.domains))
  assert.ok(!domains.includes('broken.example.com'))
})

test('bad YAML is a ParseError with diagnostics pointing at the line', () => {
  const text = quickstartText + '\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: [oops\n'
  for (const call of [() => gw.load(text), () => gw.validate(text), () => gw.translate(text)]) {
    assert.throws(call, (e) => {
      assert.ok(e instanceof gw.ParseError)
      assert.ok(e instanceof gw.GatewrightError)
      assert.ok(e instanceof Error)
      assert.equal(e.name, 'ParseError')
      assert.match(e.message, /YAML syntax error/)
      assert.equal(e.diagnostics.length, 1)
      const [d] = e.diagnostics
      assert.equal(d.severity, 'error')
      assert.equal(d.source.file, '<text>')
      assert.ok(d.source.line > 40, `line ${d.source.line}`)
      assert.match(e.stack, /ParseError/)
      return true
    })
  }
  assert.throws(() => gw.translate(42), gw.ParseError)
  assert.throws(() => gw.translate(null), gw.ParseError)
})

test('objects that cannot be decoded or are invalid', () => {
  const undecodable = 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: eighty}]}\n'
  assert.throws(() => gw.load(undecodable), (e) => e instanceof gw.ParseError && e.diagnostics[0].kind === 'Service')
  // validate reports it rather than throwing: the API server would reject the object.
  const [d] = gw.validate(undecodable)
  assert.equal(d.severity, 'error')

  const invalid = brokenRoute.replace('rules:', 'rules:\n  - matches: [{path: {type: PathPrefix, value: no-slash}}]')
  const diags = gw.validate(invalid)
  assert.ok(diags.length > 0)
  assert.ok(diags.every((x) => x.kind === 'HTTPRoute' && x.name === 'broken' && x.severity === 'error'))
  assert.ok(diags.some((x) => x.path.startsWith('spec.rules[0].matches[0].path')), JSON.stringify(diags))
  // translate does not validate unless asked, like the CLI.
  gw.translate(quickstartText + '\n---\n' + invalid)
  assert.throws(
    () => gw.translate(quickstartText + '\n---\n' + invalid, { validate: true }),
    (e) => e instanceof gw.ValidationError && e.diagnostics.length === diags.length && /HTTPRoute\/default\/broken/.test(e.message),
  )
  // Experimental fields are errors on the standard channel only.
  assert.throws(() => gw.validate(quickstartDir, { channel: 'beta' }), gw.GatewrightError)
})

test('schema', () => {
  const s = gw.schema('HTTPRoute')
  assert.equal(s.type, 'object')
  assert.ok(s.properties.spec)
  assert.deepEqual(gw.schema('httproute'), s)
  assert.throws(() => gw.schema('Widget'), (e) => e instanceof gw.GatewrightError && /known kinds/.test(e.message))
})

test('1,000 generated HTTPRoutes', () => {
  const text = quickstartText + '\n---\n' + generatedRoutes(1000)
  const t = gw.translate(text)
  const routes = t.status.filter((s) => s.kind === 'HTTPRoute')
  assert.equal(routes.length, 1001)
  for (const r of routes) assert.equal(condition(r.status.parents[0].conditions, 'Accepted').status, 'True')
  assert.equal(statusOf(t, 'Gateway', 'insecure-port').status.listeners[0].attachedRoutes, 1001)
  const vhosts = t.xds['default/insecure-port'].routes[0].virtual_hosts
  assert.equal(vhosts.length, 101)
  assert.equal(vhosts.reduce((n, v) => n + v.routes.length, 0), 1001)
  assert.equal(gw.validate(text).length, 0)
})

test('async variants run on the libuv pool and agree with the sync ones', async () => {
  const plain = (v) => JSON.parse(JSON.stringify(v))
  assert.deepEqual(await gw.loadAsync(quickstartDir), gw.load(quickstartDir))
  assert.deepEqual(await gw.validateAsync(brokenRoute), gw.validate(brokenRoute))
  const t = await gw.translateAsync(quickstartDir)
  assert.deepEqual(plain(t), plain(gw.translate(quickstartDir)))
  assert.deepEqual(t.bootstrap('insecure-port'), gw.translate(quickstartDir).bootstrap('insecure-port'))

  await assert.rejects(gw.translateAsync('a: [\n'), (e) => e instanceof gw.ParseError && e.diagnostics.length === 1)
  await assert.rejects(gw.loadAsync('a: [\n'), gw.ParseError)
  await assert.rejects(gw.validateAsync('a: [\n'), gw.ParseError)
  await assert.rejects(gw.translateAsync(brokenRoute.replace('value', 'x'), { validate: true, channel: 'nope' }), gw.GatewrightError)

  // A large translation leaves the event loop free while it runs, and several run at once.
  const text = quickstartText + '\n---\n' + generatedRoutes(1000)
  let ticks = 0
  const timer = setInterval(() => ticks++, 1)
  const results = await Promise.all([gw.translateAsync(text), gw.translateAsync(text), gw.translateAsync(quickstartText)])
  clearInterval(timer)
  assert.ok(ticks > 0, 'the event loop never ran during the translations')
  assert.deepEqual(plain(results[0]), plain(results[1]))
  assert.equal(results[0].status.filter((s) => s.kind === 'HTTPRoute').length, 1001)
  assert.equal(results[2].status.filter((s) => s.kind === 'HTTPRoute').length, 1)
})

test('worker threads each load the addon and get the same errors and results', async () => {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads')
    const gw = require(workerData.pkg)
    const t = gw.translate(workerData.dir)
    let err = null
    try { gw.load('a: [') } catch (e) { err = { parse: e instanceof gw.ParseError, n: e.diagnostics.length } }
    parentPort.postMessage({ doc: JSON.parse(JSON.stringify(t)), err })
  `
  const run = () =>
    new Promise((resolve, reject) => {
      const w = new Worker(code, { eval: true, workerData: { pkg: join(__dirname, '..'), dir: quickstartDir } })
      w.once('message', resolve)
      w.once('error', reject)
    })
  const results = await Promise.all([run(), run(), run()])
  const expected = JSON.parse(JSON.stringify(gw.translate(quickstartDir)))
  for (const r of results) {
    assert.deepEqual(r.doc, expected)
    assert.deepEqual(r.err, { parse: true, n: 1 })
  }
})
