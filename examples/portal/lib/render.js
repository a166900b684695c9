'use strict'
// HTML for the portal: each Gateway as an SVG diagram (listeners → routes → backends, with
// conditions as chips), rejected routes and why, and the Envoy config as collapsible JSON.

const esc = (s) =>
  String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c])

// ---------------------------------------------------------------------------------------
// Conditions.

function chipClass(c) {
  // Conditions whose good value is False (e.g. Conflicted) read as problems when True.
  const negative = ['Conflicted', 'Detached', 'OverlappingTLSConfig'].includes(c.type)
  if (c.status === 'Unknown') return 'unknown'
  return (c.status === 'True') !== negative ? 'ok' : 'bad'
}

function htmlChips(conditions) {
  return (conditions || [])
    .map(
      (c) =>
        `<span class="chip ${chipClass(c)}" data-condition="${esc(c.type)}" data-status="${esc(c.status)}" title="${esc(`${c.type}=${c.status} ${c.reason}: ${c.message}`)}">${chipClass(c) === 'ok' ? '✓' : chipClass(c) === 'bad' ? '✗' : '?'} ${esc(c.type)}${chipClass(c) === 'ok' ? '' : ` · ${esc(c.reason)}`}</span>`,
    )
    .join(' ')
}

// ---------------------------------------------------------------------------------------
// The SVG diagram.

const FONT = 12
const CHAR = 7.25 // width of a 12px monospace character
const LINE = 18
const PAD = 10
const COL = { listener: 290, route: 340, backend: 240 }
const CHIP_CHAR = 5.9 // width of an 11px sans-serif character, generously
const GAP_X = 56
const GAP_Y = 14
const X = { listener: 12, route: 12 + COL.listener + GAP_X, backend: 12 + COL.listener + GAP_X + COL.route + GAP_X }

function fit(text, width) {
  const max = Math.floor((width - 2 * PAD) / CHAR)
  return text.length > max ? text.slice(0, Math.max(1, max - 1)) + '…' : text
}

function fitChip(label, w) {
  const max = Math.floor((w - 14) / CHIP_CHAR)
  return label.length > max ? label.slice(0, Math.max(1, max - 1)) + '…' : label
}

/** Lines of text and chip rows of a box: [{text, cls}] or [{chips: [...] }]. */
function layoutChips(conditions, width) {
  const rows = []
  let row = []
  let used = 0
  for (const c of conditions) {
    const label = `${chipClass(c) === 'ok' ? '✓' : chipClass(c) === 'bad' ? '✗' : '?'} ${c.type}${chipClass(c) === 'ok' ? '' : ' · ' + c.reason}`
    const w = Math.min(label.length * CHIP_CHAR + 14, width - 2 * PAD)
    if (row.length && used + w > width - 2 * PAD) {
      rows.push(row)
      row = []
      used = 0
    }
    row.push({ c, label, w, x: used })
    used += w + 6
  }
  if (row.length) rows.push(row)
  return rows.map((r) => ({ chips: r }))
}

function boxHeight(lines) {
  return PAD * 2 + lines.reduce((h, l) => h + (l.chips ? LINE + 4 : LINE), 0) - 4
}

function drawBox(x, y, width, lines, { cls, attrs = '', title = '' }) {
  const h = boxHeight(lines)
  let out = `<g class="box ${cls}" ${attrs}>`
  if (title) out += `<title>${esc(title)}</title>`
  out += `<rect x="${x}" y="${y}" width="${width}" height="${h}" rx="8"/>`
  let cy = y + PAD
  for (const l of lines) {
    if (l.chips) {
      for (const ch of l.chips) {
        const k = chipClass(ch.c)
        out += `<g class="chip ${k}" data-condition="${esc(ch.c.type)}" data-status="${esc(ch.c.status)}"><title>${esc(`${ch.c.type}=${ch.c.status} ${ch.c.reason}: ${ch.c.message}`)}</title>` +
          `<rect x="${x + PAD + ch.x}" y="${cy}" width="${ch.w}" height="${LINE}" rx="9"/>` +
          `<text x="${x + PAD + ch.x + 7}" y="${cy + 13}">${esc(fitChip(ch.label, ch.w))}</text></g>`
      }
      cy += LINE + 4
    } else {
      out += `<text class="${l.cls || ''}" x="${x + PAD}" y="${cy + 13}">${esc(fit(l.text, width))}${l.text.length > (width - 2 * PAD) / CHAR ? `<title>${esc(l.text)}</title>` : ''}</text>`
      cy += LINE
    }
  }
  return { svg: out + '</g>', h }
}

function edge(x1, y1, x2, y2, cls = '') {
  const mx = (x1 + x2) / 2
  return `<path class="edge ${cls}" d="M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}"/>`
}

function listenerLines(l) {
  const lines = [
    { text: `listener ${l.name}`, cls: 'title' },
    { text: `${l.protocol} :${l.port}` },
    { text: `hostname: ${l.hostname || '*'}`, cls: 'dim' },
  ]
  lines.push(...layoutChips(l.conditions, COL.listener))
  lines.push({ text: `attached routes: ${l.attachedRoutes ?? '–'}`, cls: 'dim' })
  return lines
}

function routeLines(r, gatewayNs, gatewayKey, listener) {
  const name = r.namespace === gatewayNs ? r.name : `${r.namespace}/${r.name}`
  const lines = [{ text: `${r.kind} ${name}`, cls: 'title' }]
  if (r.hostnames.length) lines.push({ text: `hosts: ${r.hostnames.join(', ')}` })
  else if (['HTTPRoute', 'GRPCRoute', 'TLSRoute'].includes(r.kind)) lines.push({ text: 'hosts: (all of the listener)', cls: 'dim' })
  let shown = 0
  const all = r.rules.flatMap((rule) => rule.matches.map((m) => ({ m, filters: rule.filters })))
  for (const { m, filters } of all.slice(0, 6)) {
    lines.push({ text: `▸ ${m}${filters.length ? `  [${filters.join(', ')}]` : ''}`, cls: 'match' })
    shown++
  }
  if (all.length > shown) lines.push({ text: `  … ${all.length - shown} more matches`, cls: 'dim' })
  const parent = r.parents.find((p) => {
    const ref = p.parentRef
    const ns = ref.namespace || r.namespace
    return `${ns}/${ref.name}` === gatewayKey && (!ref.sectionName || ref.sectionName === listener.name)
  })
  if (parent) lines.push(...layoutChips(parent.conditions, COL.route))
  if (r.origin === 'pasted') lines.push({ text: '◆ from the pasted YAML', cls: 'pasted' })
  return lines
}

function backendsOf(r) {
  const seen = new Map()
  for (const rule of r.rules) {
    for (const b of rule.backends) {
      const k = `${b.kind}/${b.namespace}/${b.name}:${b.port ?? ''}`
      if (!seen.has(k)) seen.set(k, { ...b, weights: [] })
      const share = rule.backends.length > 1 ? ` (${Math.round((100 * b.weight) / (rule.backends.reduce((n, x) => n + x.weight, 0) || 1))}%)` : ''
      seen.get(k).weights.push(r.rules.length > 1 ? `${rule.name}: ${b.weight}${share}` : `${b.weight}${share}`)
    }
  }
  return [...seen.values()]
}

function backendLines(b, routeNs) {
  const name = b.namespace === routeNs ? b.name : `${b.namespace}/${b.name}`
  const lines = [{ text: `${b.kind} ${name}${b.port !== undefined ? ':' + b.port : ''}`, cls: 'title' }]
  for (const w of b.weights) lines.push({ text: `weight ${w}`, cls: 'dim' })
  return lines
}

/** The diagram of one Gateway: listeners → attached routes → backends. */
function gatewayDiagram(g, routes) {
  let y = 12
  let body = ''
  const edges = []
  for (const l of g.listeners) {
    const ll = listenerLines(l)
    const lh = boxHeight(ll)
    const top = y
    let ry = y
    const routeMids = []
    for (const key of l.routes) {
      const r = routes[key]
      if (!r) continue
      const rl = routeLines(r, g.namespace, g.key, l)
      const rb = drawBox(X.route, ry, COL.route, rl, {
        cls: `route${r.origin === 'pasted' ? ' pasted' : ''}`,
        attrs: `data-route="${esc(r.namespace + '/' + r.name)}" data-kind="${esc(r.kind)}"`,
        title: `${r.kind} ${r.namespace}/${r.name}${r.origin ? ' (' + r.origin + ')' : ''}`,
      })
      body += rb.svg
      routeMids.push(ry + Math.min(rb.h / 2, 30))
      let by = ry
      for (const b of backendsOf(r)) {
        const bl = backendLines(b, r.namespace)
        const bb = drawBox(X.backend, by, COL.backend, bl, {
          cls: 'backend',
          attrs: `data-backend="${esc(`${b.namespace}/${b.name}`)}"`,
        })
        body += bb.svg
        edges.push(edge(X.route + COL.route, ry + Math.min(rb.h / 2, 30), X.backend, by + bb.h / 2))
        by += bb.h + 8
      }
      ry = Math.max(ry + rb.h, by - 8) + GAP_Y
    }
    const lb = drawBox(X.listener, top, COL.listener, ll, {
      cls: 'listener',
      attrs: `data-listener="${esc(l.name)}"`,
      title: `listener ${l.name}: ${l.protocol} port ${l.port}`,
    })
    body += lb.svg
    for (const m of routeMids) edges.push(edge(X.listener + COL.listener, top + Math.min(lh / 2, 30), X.route, m))
    if (!l.routes.length) {
      body += `<text class="none" x="${X.route}" y="${top + 24}">no routes attached</text>`
    }
    y = Math.max(top + lh, ry - GAP_Y) + GAP_Y * 2
  }
  const width = X.backend + COL.backend + 12
  const height = Math.max(y, 60)
  const heads =
    `<text class="colhead" x="${X.listener}" y="0">LISTENERS</text>` +
    `<text class="colhead" x="${X.route}" y="0">ROUTES</text>` +
    `<text class="colhead" x="${X.backend}" y="0">BACKENDS</text>`
  return (
    `<svg class="diagram" viewBox="0 -14 ${width} ${height + 14}" width="${width}" height="${height + 14}" style="max-width: 100%; height: auto" role="img" aria-label="Gateway ${esc(g.key)}: listeners, routes and backends" xmlns="http://www.w3.org/2000/svg">` +
    heads +
    `<g class="edges">${edges.join('')}</g>${body}</svg>`
  )
}

// ---------------------------------------------------------------------------------------
// Collapsible JSON.

function highlight(json) {
  return esc(json).replace(
    /(&quot;(?:[^&]|&(?!quot;))*?&quot;)(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g,
    (m, str, colon, lit, num) => {
      if (str) return colon ? `<span class="k">${str}</span>${colon}` : `<span class="s">${str}</span>`
      if (lit) return `<span class="l">${lit}</span>`
      return `<span class="n">${num}</span>`
    },
  )
}

function jsonDetails(id, summary, value, open = false) {
  return `<details data-id="${esc(id)}"${open ? ' open' : ''}><summary>${summary}</summary><pre class="json">${highlight(JSON.stringify(value, null, 2))}</pre></details>`
}

function envoyConfig(g) {
  if (!g.xds) return ''
  const types = ['listeners', 'routes', 'clusters', 'endpoints', 'secrets']
  const counts = types.map((t) => `${(g.xds[t] || []).length} ${t}`).join(', ')
  let inner = ''
  for (const t of types) {
    const list = g.xds[t] || []
    if (!list.length) continue
    inner += `<details class="xds-type" data-id="${esc(`${g.key}/${t}`)}"><summary>${esc(t)} <span class="dim">(${list.length})</span></summary>`
    for (const r of list) {
      const name = r.name || r.cluster_name || '(unnamed)'
      inner += jsonDetails(`${g.key}/${t}/${name}`, `<code>${esc(name)}</code>`, r)
    }
    inner += '</details>'
  }
  let out = `<details class="envoy" data-id="${esc(`${g.key}/xds`)}"><summary>Envoy config (xDS) <span class="dim">${esc(counts)}</span></summary>${inner}`
  out += `<p class="dim">All resources as one document: <code>gatewright translate -f DIR -o json</code>.</p>`
  out += '</details>'
  if (g.bootstrap) {
    out += jsonDetails(`${g.key}/bootstrap`, `Static bootstrap <span class="dim">(runs as <code>envoy -c</code>)</span>`, g.bootstrap)
  }
  return out
}

// ---------------------------------------------------------------------------------------
// The page.

function diagList(diags) {
  return `<ul class="diags">${diags
    .map(
      (d) =>
        `<li><span class="sev ${esc(d.severity)}">${esc(d.severity)}</span> ${d.kind ? `<b>${esc(`${d.kind} ${d.namespace ? d.namespace + '/' : ''}${d.name}`)}</b> ` : ''}${d.path ? `<code>${esc(d.path)}</code> ` : ''}${esc(d.message)}${d.source ? ` <span class="dim">${esc(`${d.source.file}:${d.source.line}`)}</span>` : ''}</li>`,
    )
    .join('')}</ul>`
}

function refText(ref, routeNs) {
  return `${ref.kind || 'Gateway'} ${ref.namespace || routeNs}/${ref.name}${ref.sectionName ? ` · section ${ref.sectionName}` : ''}${ref.port !== undefined ? ` · port ${ref.port}` : ''}`
}

/** The part of the page that live updates replace. */
function renderView(model) {
  let out = ''
  for (const e of model.errors) {
    out += `<section class="card error" data-error="${esc(e.where)}"><h2>${esc(e.name)} in ${esc(e.where)}</h2><p>${esc(e.message)}</p>${e.diagnostics.length > 1 ? diagList(e.diagnostics) : ''}</section>`
  }
  if (model.rejected.length || model.unowned.length) {
    out += `<section class="card rejected" id="rejected"><h2>Rejected routes</h2><table><thead><tr><th>Route</th><th>Parent</th><th>Condition</th><th>Reason</th><th>Message</th></tr></thead><tbody>`
    for (const r of model.rejected) {
      out += `<tr data-rejected="${esc(r.namespace + '/' + r.name)}" data-reason="${esc(r.condition.reason)}"><td><b>${esc(r.kind)} ${esc(r.namespace)}/${esc(r.name)}</b>${r.origin === 'pasted' ? ' <span class="tag">pasted</span>' : r.origin ? ` <span class="dim">${esc(r.origin)}</span>` : ''}</td><td>${esc(refText(r.parentRef, r.namespace))}</td><td>${htmlChips([r.condition])}</td><td><code>${esc(r.condition.reason)}</code></td><td>${esc(r.condition.message)}</td></tr>`
    }
    for (const u of model.unowned) {
      out += `<tr data-rejected="${esc(u.route.split('/').slice(1).join('/'))}" data-reason="NoStatus"><td><b>${esc(u.route)}</b></td><td>${esc(u.parentRefs.map((p) => refText(p, u.route.split('/')[1])).join('; ') || 'no parentRefs')}</td><td>–</td><td><code>no status</code></td><td>No Gateway of this controller is among its parents (unknown Gateway, or another controller's class).</td></tr>`
    }
    out += `</tbody></table></section>`
  }
  if (!model.gateways.length && !model.errors.length) {
    out += `<section class="card"><p>No Gateway in the manifests${model.source.dir ? ` of <code>${esc(model.source.dir)}</code>` : ''}. Paste some YAML to preview it.</p></section>`
  }
  for (const g of model.gateways) {
    out += `<section class="card gateway" data-gateway="${esc(g.key)}"><h2><span class="kind">Gateway</span> ${esc(g.namespace)}/<b>${esc(g.name)}</b></h2>`
    out += `<p class="meta">class <code>${esc(g.className)}</code>${g.origin ? ` · <span class="dim">${esc(g.origin)}</span>` : ''}${g.addresses.length ? ` · address ${esc(g.addresses.map((a) => a.value).join(', '))}` : ''} ${htmlChips(g.conditions)}</p>`
    if (!g.managed) {
      out += `<p class="dim">Not managed by this controller: no accepted GatewayClass <code>${esc(g.className)}</code> with our controllerName.</p>`
    }
    out += `<div class="diagram-wrap">${gatewayDiagram(g, model.routes)}</div>`
    out += envoyConfig(g)
    out += '</section>'
  }
  if (model.validation.length) {
    out += `<section class="card" id="validation"><h2>The API server would reject</h2>${diagList(model.validation)}</section>`
  }
  if (model.warnings.length) {
    out += `<section class="card" id="warnings"><h2>Warnings</h2>${diagList(model.warnings)}</section>`
  }
  return out
}

function renderSidebar(model, pasted) {
  const n = Object.keys(model.routes).length
  return `<section class="card">
  <form method="post" action="/" id="paste">
    <label for="yaml"><b>Preview a change</b>: paste manifests (YAML or JSON). They are applied on top of ${model.source.dir ? 'the directory, replacing objects of the same kind, namespace and name' : 'nothing (no directory given)'}.</label>
    <textarea id="yaml" name="yaml" spellcheck="false" rows="14" placeholder="apiVersion: gateway.networking.k8s.io/v1&#10;kind: HTTPRoute&#10;...">${esc(pasted)}</textarea>
    <div class="buttons"><button type="submit" name="action" value="preview">Preview</button><button type="submit" name="action" value="clear" class="secondary">Clear</button></div>
  </form>
</section>
<section class="card summary">
  <h3>GatewayClasses</h3>
  <ul>${model.classes.map((c) => `<li><code>${esc(c.name)}</code> ${htmlChips(c.conditions.filter((x) => x.type === 'Accepted'))}<br><span class="dim">${esc(c.controllerName)}</span></li>`).join('') || '<li class="dim">none</li>'}</ul>
  <h3>Totals</h3>
  <p>${model.gateways.length} Gateways · ${n} routes · <span class="${model.rejected.length ? 'badtext' : ''}">${model.rejected.length} rejected conditions</span></p>
</section>`
}

function renderPage(model, { pasted = '', version = 0 } = {}) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Gatewright portal${model.source.dir ? ' · ' + esc(model.source.dir) : ''}</title>
<link rel="stylesheet" href="/portal.css"></head>
<body>
<header><h1>Gatewright <span>portal</span></h1>
<span class="source">${model.source.dir ? `watching <code>${esc(model.source.dir)}</code>` : 'no directory: paste manifests'}${model.source.pasted ? ' + pasted YAML' : ''}</span>
<span id="live" class="live" title="Updates when the manifests change">● <span id="updated">computed ${esc(model.computedAt.slice(11, 19))} UTC in ${model.durationMs} ms</span></span></header>
<div class="layout">
<aside>${renderSidebar(model, pasted)}</aside>
<main id="view" data-version="${version}">${renderView(model)}</main>
</div>
<script id="applied" type="application/json">${JSON.stringify(pasted).replace(/</g, '\\u003c')}</script>
<script src="/portal.js"></script>
</body></html>`
}

module.exports = { renderPage, renderView, gatewayDiagram, highlight, esc }
