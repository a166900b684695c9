'use strict'
// Live updates: the server announces every change of the manifests over server-sent
// events; the view is then fetched again with the pasted YAML that is applied now.
;(() => {
  const view = document.getElementById('view')
  const live = document.getElementById('live')
  const updated = document.getElementById('updated')
  const applied = JSON.parse(document.getElementById('applied').textContent || '""')
  let busy = false
  let again = false

  async function refresh(version) {
    if (busy) {
      again = true
      return
    }
    busy = true
    try {
      const open = new Set([...view.querySelectorAll('details[open]')].map((d) => d.dataset.id))
      const r = await fetch('/fragment', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ yaml: applied }),
      })
      const html = await r.text()
      view.innerHTML = html
      for (const d of view.querySelectorAll('details')) if (open.has(d.dataset.id)) d.open = true
      view.dataset.version = String(version)
      updated.textContent = `updated ${new Date().toISOString().slice(11, 19)} UTC (${r.headers.get('x-duration-ms') || '?'} ms)`
      live.classList.add('flash')
      setTimeout(() => live.classList.remove('flash'), 600)
    } catch (e) {
      updated.textContent = `update failed: ${e.message}`
    } finally {
      busy = false
      if (again) {
        again = false
        refresh(version)
      }
    }
  }

  const events = new EventSource('/events')
  events.addEventListener('change', (e) => refresh(Number(e.data)))
  events.addEventListener('open', () => live.classList.remove('down'))
  events.addEventListener('error', () => live.classList.add('down'))
})()
