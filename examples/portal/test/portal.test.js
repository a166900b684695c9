'use strict'
// The portal over HTTP (no browser), then in Debian's chromium driven by playwright-core:
// the quickstart's Gateway, route and Accepted condition, a live update when a file
// changes, a pasted broken route and its reason, and screenshots.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { createPortal } = require('../server')

const QUICKSTART = path.join(__dirname, '..', '..', 'quickstart')
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium'

const BROKEN_ROUTE = `apiVersion: gateway.networking.k8s.io/v1
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

const liveRoute = (name) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: ${name}
  namespace: default
spec:
  parentRefs:
  - name: insecure-port
  hostnames:
  - ${name}.example.com
  rules:
  - matches:
    - path: {type: Exact, value: /live}
      method: GET
    backendRefs:
    - name: httpbin
      port: 8000
`

/** A copy of the quickstart in a temporary directory (so the test can edit it) and a portal on it. */
async function startPortal() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatewright-portal-'))
  for (const f of fs.readdirSync(QUICKSTART)) {
    if (/\.ya?ml$/.test(f)) fs.copyFileSync(path.join(QUICKSTART, f), path.join(dir, f))
  }
  const portal = createPortal({ dir })
  await new Promise((resolve) => portal.server.listen(0, '127.0.0.1', resolve))
  const base = `http://127.0.0.1:${portal.server.address().port}`
  return {
    dir,
    base,
    async stop() {
      await portal.close()
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}

const form = (yaml) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ yaml, action: 'preview' }),
})

test('over HTTP: page, preview, parse errors, model, change events', async (t) => {
  const p = await startPortal()
  t.after(() => p.stop())

  const page = await (await fetch(`${p.base}/`)).text()
  assert.match(page, /data-gateway="default\/insecure-port"/)
  assert.match(page, /data-listener="http"/)
  assert.match(page, /data-route="default\/httpbin"/)
  assert.doesNotMatch(page, /Rejected routes/)

  const preview = await (await fetch(`${p.base}/`, form(BROKEN_ROUTE))).text()
  assert.match(preview, /data-rejected="default\/broken" data-reason="NoMatchingParent"/)
  assert.match(preview, /No listener https found/)
  assert.match(preview, /data-route="default\/httpbin"/, 'the directory stays under the preview')

  const bad = await (await fetch(`${p.base}/fragment`, form('kind: [oops'))).text()
  assert.match(bad, /ParseError in pasted YAML/)
  assert.match(bad, /YAML syntax error/)

  const model = await (await fetch(`${p.base}/api/model`)).json()
  assert.deepEqual(model.gateways.map((g) => g.key), ['default/insecure-port'])
  assert.deepEqual(model.gateways[0].listeners[0].routes, ['HTTPRoute/default/httpbin'])
  assert.equal(model.gateways[0].xds.listeners[0].name, 'default/insecure-port/8080')
  assert.equal(model.gateways[0].bootstrap.static_resources.clusters[0].name, 'default/httpbin/8000')

  // A file change is announced over server-sent events.
  const ac = new AbortController()
  const events = await fetch(`${p.base}/events`, { signal: ac.signal })
  const reader = events.body.getReader()
  const seen = (async () => {
    let text = ''
    while (!text.includes('event: change')) {
      const { value, done } = await reader.read()
      if (done) break
      text += Buffer.from(value).toString()
    }
    return text
  })()
  await new Promise((r) => setTimeout(r, 200))
  fs.writeFileSync(path.join(p.dir, 'extra.yaml'), liveRoute('extra'))
  const text = await Promise.race([seen, new Promise((r) => setTimeout(() => r('timeout'), 5000))])
  ac.abort()
  assert.match(text, /event: change\ndata: \d+/)
  const after = await (await fetch(`${p.base}/api/model`)).json()
  assert.ok(after.routes['HTTPRoute/default/extra'])
})

test('in chromium: quickstart, live update, pasted broken route, screenshots', async (t) => {
  if (!fs.existsSync(CHROMIUM)) {
    if (process.env.PORTAL_REQUIRE_BROWSER) assert.fail(`${CHROMIUM} is missing (apt-get install -y chromium)`)
    t.skip(`${CHROMIUM} is missing: apt-get install -y chromium`)
    return
  }
  const { chromium } = require('playwright-core')
  const shots = process.env.PORTAL_SCREENSHOT_DIR || fs.mkdtempSync(path.join(os.tmpdir(), 'gatewright-portal-shots-'))
  fs.mkdirSync(shots, { recursive: true })
  const p = await startPortal()
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  })
  t.after(async () => {
    await browser.close()
    await p.stop()
  })
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
  await page.goto(`${p.base}/`)

  // The Gateway, its listener and conditions, the route and its Accepted condition.
  const gateway = page.locator('[data-gateway="default/insecure-port"]')
  await gateway.locator('h2').getByText('insecure-port').waitFor()
  assert.match(await gateway.locator('h2').innerText(), /Gateway\s+default\/insecure-port/)
  const listener = gateway.locator('[data-listener="http"]')
  assert.match(await listener.textContent(), /listener http.*HTTP :8080/)
  assert.equal(await listener.locator('[data-condition="Programmed"]').getAttribute('data-status'), 'True')
  const route = gateway.locator('[data-route="default/httpbin"]')
  assert.ok(await route.isVisible())
  const routeText = await route.textContent()
  assert.match(routeText, /HTTPRoute httpbin/)
  assert.match(routeText, /www\.example\.com/)
  assert.match(routeText, /PathPrefix \//)
  const accepted = route.locator('[data-condition="Accepted"]')
  assert.equal(await accepted.getAttribute('data-status'), 'True')
  assert.match(await accepted.textContent(), /Accepted/)
  assert.match(await gateway.locator('[data-backend="default/httpbin"]').textContent(), /Service httpbin:8000/)

  // The Envoy config, collapsible.
  const envoy = gateway.locator('details.envoy')
  assert.equal(await envoy.locator('pre').first().isVisible(), false)
  await envoy.locator('summary').first().click()
  await envoy.locator('details.xds-type summary').first().click()
  await envoy.locator('details.xds-type details summary').first().click()
  assert.match(await envoy.locator('pre').first().innerText(), /"default\/insecure-port\/8080"/)
  await page.screenshot({ path: path.join(shots, 'quickstart.png'), fullPage: true })

  // A new file shows up without a reload (and the open config stays open).
  fs.writeFileSync(path.join(p.dir, 'live.yaml'), liveRoute('live-route'))
  await gateway.locator('[data-route="default/live-route"]').waitFor({ timeout: 10000 })
  assert.match(await gateway.locator('[data-route="default/live-route"]').textContent(), /Exact \/live · GET/)
  assert.ok(await envoy.locator('pre').first().isVisible())
  fs.unlinkSync(path.join(p.dir, 'live.yaml'))
  await gateway.locator('[data-route="default/live-route"]').waitFor({ state: 'detached', timeout: 10000 })

  // Paste a route naming a listener that does not exist: rejected, and why.
  await page.locator('textarea[name="yaml"]').fill(BROKEN_ROUTE)
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Preview' }).click()])
  const row = page.locator('tr[data-rejected="default/broken"][data-reason="NoMatchingParent"]')
  await row.waitFor()
  const rowText = await row.innerText()
  assert.match(rowText, /NoMatchingParent/)
  assert.match(rowText, /No listener https found on the parent/)
  assert.match(rowText, /section https/)
  assert.equal(await row.locator('[data-condition="Accepted"]').getAttribute('data-status'), 'False')
  // The rest is unchanged, and the pasted text stays in the box.
  assert.equal(await page.locator('[data-route="default/httpbin"] [data-condition="Accepted"]').getAttribute('data-status'), 'True')
  assert.match(await page.locator('textarea[name="yaml"]').inputValue(), /sectionName: https/)
  await page.screenshot({ path: path.join(shots, 'rejected.png'), fullPage: true })

  // Broken YAML: the parse error and where.
  await page.locator('textarea[name="yaml"]').fill('kind: [oops')
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Preview' }).click()])
  assert.match(await page.locator('[data-error="pasted YAML"]').innerText(), /ParseError[\s\S]*YAML syntax error/)

  t.diagnostic(`screenshots in ${shots}`)
  for (const f of ['quickstart.png', 'rejected.png']) assert.ok(fs.statSync(path.join(shots, f)).size > 10000)
})
