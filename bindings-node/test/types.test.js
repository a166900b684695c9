'use strict'
// index.d.ts type-checks, and describes the API as used (with TypeScript from the dev
// dependencies; skipped when it is not installed).

const test = require('node:test')
const { spawnSync } = require('node:child_process')
const { existsSync } = require('node:fs')
const { join } = require('node:path')

const tsc = join(__dirname, '..', 'node_modules', 'typescript', 'bin', 'tsc')

test('index.d.ts type-checks against typical use', { skip: !existsSync(tsc) && 'typescript is not installed (npm ci)' }, () => {
  const r = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--noUnusedLocals', 'false', join(__dirname, 'types-usage.ts')], {
    encoding: 'utf8',
  })
  if (r.status !== 0) throw new Error(`tsc failed:\n${r.stdout}${r.stderr}`)
})
