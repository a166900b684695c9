#!/usr/bin/env node
'use strict'
// The gatewright developer portal: a plain Node HTTP server over the `gatewright` package.
//
//   node server.js [DIR] [--port 8090] [--host 127.0.0.1] [--controller-name NAME]
//
// GET  /           the page for DIR's manifests
// POST /           the page with pasted YAML (form field `yaml`) applied on top of DIR
// POST /fragment   the live part of the page only (what the page fetches on changes)
// GET  /events     server-sent events: `change` whenever a file under DIR changes
// GET  /api/model  the page's data as JSON (POST with `yaml` for a preview)

const http = require('node:http')
const fs = require('node:fs')
const path = require('node:path')
const { computeModel } = require('./lib/model')
const { renderPage, renderView } = require('./lib/render')

const PUBLIC = path.join(__dirname, 'public')
const STATIC = {
  '/portal.css': ['portal.css', 'text/css; charset=utf-8'],
  '/portal.js': ['portal.js', 'text/javascript; charset=utf-8'],
}
const MAX_BODY = 8 * 1024 * 1024

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = []
    let size = 0
    req.on('data', (c) => {
      size += c.length
      if (size > MAX_BODY) {
        reject(Object.assign(new Error('request body too large'), { status: 413 }))
        req.destroy()
      } else chunks.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

async function pastedYaml(req) {
  const body = await readBody(req)
  const type = req.headers['content-type'] || ''
  if (type.startsWith('application/json')) return String(JSON.parse(body || '{}').yaml || '')
  const form = new URLSearchParams(body)
  return form.get('action') === 'clear' ? '' : form.get('yaml') || ''
}

function walkSync(p) {
  if (!fs.statSync(p).isDirectory()) return [p]
  return fs
    .readdirSync(p)
    .filter((n) => !n.startsWith('.'))
    .sort()
    .flatMap((n) => walkSync(path.join(p, n)))
}

/** Watches `dir` (recursively) and calls `onChange` after changes settle; polls when watching is impossible. */
function watch(dir, onChange) {
  let timer = null
  const fire = (_event, filename) => {
    // Hidden entries (the controller's .status/, editors' swap files) are not manifests.
    const name = filename ? String(filename) : ''
    if (name && (name.split(/[\\/]/).some((p) => p.startsWith('.')) || name.endsWith('~'))) return
    clearTimeout(timer)
    timer = setTimeout(onChange, 120)
  }
  try {
    const recursive = fs.statSync(dir).isDirectory()
    const w = fs.watch(dir, { recursive }, fire)
    w.on('error', () => {})
    return () => {
      clearTimeout(timer)
      w.close()
    }
  } catch {
    const signature = () => {
      try {
        return walkSync(dir).map((f) => `${f}:${fs.statSync(f).mtimeMs}`).join('|')
      } catch {
        return ''
      }
    }
    let last = signature()
    const iv = setInterval(() => {
      const now = signature()
      if (now !== last) {
        last = now
        onChange()
      }
    }, 1000)
    return () => clearInterval(iv)
  }
}

/** Creates the portal server (not listening yet). */
function createPortal({ dir = null, controllerName } = {}) {
  const absDir = dir ? path.resolve(dir) : null
  const clients = new Set()
  let version = 0

  const stopWatching = absDir
    ? watch(absDir, () => {
        version++
        for (const res of clients) res.write(`event: change\ndata: ${version}\n\n`)
      })
    : () => {}
  const heartbeat = setInterval(() => {
    for (const res of clients) res.write(': keep-alive\n\n')
  }, 15000)
  heartbeat.unref()

  const model = (pasted) => computeModel({ dir: absDir, pasted, controllerName })

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://portal')
    try {
      if (req.method === 'GET' && STATIC[url.pathname]) {
        const [file, type] = STATIC[url.pathname]
        res.writeHead(200, { 'content-type': type, 'cache-control': 'no-cache' })
        res.end(fs.readFileSync(path.join(PUBLIC, file)))
        return
      }
      if (req.method === 'GET' && url.pathname === '/events') {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })
        res.write(`retry: 1000\nevent: hello\ndata: ${version}\n\n`)
        clients.add(res)
        req.on('close', () => clients.delete(res))
        return
      }
      if (url.pathname === '/' && (req.method === 'GET' || req.method === 'POST')) {
        const pasted = req.method === 'POST' ? await pastedYaml(req) : ''
        const m = await model(pasted)
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
        res.end(renderPage(m, { pasted, version }))
        return
      }
      if (url.pathname === '/fragment' && req.method === 'POST') {
        const m = await model(await pastedYaml(req))
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-duration-ms': String(m.durationMs) })
        res.end(renderView(m))
        return
      }
      if (url.pathname === '/api/model' && (req.method === 'GET' || req.method === 'POST')) {
        const m = await model(req.method === 'POST' ? await pastedYaml(req) : '')
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify(m, null, 2))
        return
      }
      res.writeHead(404, { 'content-type': 'text/plain' })
      res.end('not found\n')
    } catch (e) {
      if (!res.headersSent) res.writeHead(e.status || 500, { 'content-type': 'text/plain' })
      res.end(`${e.message}\n`)
    }
  })
  server.on('close', () => {
    stopWatching()
    clearInterval(heartbeat)
  })
  const close = () =>
    new Promise((resolve) => {
      for (const res of clients) res.end()
      clients.clear()
      server.close(() => resolve())
      server.closeAllConnections?.()
    })
  return { server, close }
}

function parseArgs(argv) {
  const opts = { dir: null, port: 8090, host: '127.0.0.1', controllerName: undefined }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--port' || a === '-p') opts.port = Number(argv[++i])
    else if (a === '--host') opts.host = argv[++i]
    else if (a === '--controller-name') opts.controllerName = argv[++i]
    else if (a === '--help' || a === '-h') {
      console.log('usage: node server.js [DIR] [--port 8090] [--host 127.0.0.1] [--controller-name NAME]')
      process.exit(0)
    } else if (!opts.dir) opts.dir = a
    else throw new Error(`unexpected argument ${a}`)
  }
  return opts
}

if (require.main === module) {
  const opts = parseArgs(process.argv.slice(2))
  if (opts.dir && !fs.existsSync(opts.dir)) {
    console.error(`error: ${opts.dir} does not exist`)
    process.exit(2)
  }
  const { server } = createPortal(opts)
  server.listen(opts.port, opts.host, () => {
    const { port } = server.address()
    console.log(`gatewright portal on http://${opts.host}:${port}/${opts.dir ? ` watching ${path.resolve(opts.dir)}` : ''}`)
  })
}

module.exports = { createPortal, parseArgs }
