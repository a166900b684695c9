#!/usr/bin/env node
'use strict'
// Builds the native addon from this checkout and puts it beside index.js as
// gatewright.<platform>.node. With @napi-rs/cli installed (a dev dependency) it runs
// `napi build`, which also regenerates index.d.ts from the Rust code; without it (e.g.
// `npm install ./bindings-node` from another project, which installs no dev
// dependencies) it runs cargo directly and keeps the committed index.d.ts.
//
//   node scripts/build.js [--release | --debug] [--install]
//
// The profile defaults to $GATEWRIGHT_NODE_PROFILE, else release. --install (the npm
// `install` script) keeps an existing addon when there is no Rust source to build from
// (an installed tarball) and fails with a clear message when there is neither.

const { execFileSync, spawnSync } = require('node:child_process')
const { copyFileSync, existsSync, renameSync, unlinkSync } = require('node:fs')
const { join } = require('node:path')

const pkgDir = join(__dirname, '..')
const args = process.argv.slice(2)
const profile = args.includes('--debug')
  ? 'debug'
  : args.includes('--release')
    ? 'release'
    : process.env.GATEWRIGHT_NODE_PROFILE || 'release'
const install = args.includes('--install')

function platformTag() {
  const { platform, arch } = process
  if (platform === 'linux') {
    const header = process.report?.getReport?.()?.header
    const libc = header && header.glibcVersionRuntime ? (arch === 'arm' ? 'gnueabihf' : 'gnu') : 'musl'
    return `linux-${arch}-${libc}`
  }
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}
const addon = join(pkgDir, `gatewright.${platformTag()}.node`)

function hasCargo() {
  return spawnSync('cargo', ['--version'], { stdio: 'ignore' }).status === 0
}

const fromSource = existsSync(join(pkgDir, 'Cargo.toml')) && existsSync(join(pkgDir, 'src', 'lib.rs'))
if (!fromSource || !hasCargo()) {
  if (existsSync(addon)) {
    if (install) process.exit(0)
  }
  const why = !fromSource
    ? 'this copy of the package has no Rust source and no addon for this platform'
    : 'cargo (Rust) is not on PATH'
  console.error(`gatewright: cannot build the native addon: ${why}.`)
  console.error('Install Rust (https://rustup.rs) and run `npm run build` in bindings-node/, or install a tarball packed on this platform.')
  process.exit(install && existsSync(addon) ? 0 : 1)
}

const napi = join(pkgDir, 'node_modules', '.bin', process.platform === 'win32' ? 'napi.cmd' : 'napi')
if (existsSync(napi)) {
  const cmd = ['build', '--platform', '--no-js', '--dts', 'index.d.ts', '-p', 'gatewright-node']
  if (profile === 'release') cmd.push('--release', '--strip')
  else if (profile !== 'debug') cmd.push('--profile', profile)
  console.error(`gatewright: napi ${cmd.join(' ')}`)
  const r = spawnSync(napi, cmd, { cwd: pkgDir, stdio: 'inherit', shell: process.platform === 'win32' })
  process.exit(r.status ?? 1)
}

const cargoArgs = ['build', '-p', 'gatewright-node', '--message-format=json-render-diagnostics']
if (profile === 'release') cargoArgs.push('--release')
else if (profile !== 'debug') cargoArgs.push('--profile', profile)
console.error(`gatewright: cargo ${cargoArgs.join(' ')}`)
let out
try {
  out = execFileSync('cargo', cargoArgs, { cwd: pkgDir, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 256 * 1024 * 1024 })
} catch (e) {
  process.exit(e.status || 1)
}
let built = null
for (const line of out.toString().split('\n')) {
  if (!line.startsWith('{')) continue
  const msg = JSON.parse(line)
  if (msg.reason === 'compiler-artifact' && msg.target?.name === 'gatewright_node') {
    built = msg.filenames.find((f) => /\.(so|dylib|dll)$/.test(f)) || built
  }
}
if (!built) {
  console.error('gatewright: cargo built no gatewright_node library')
  process.exit(1)
}
// Copy beside, then rename: a running process that has the old addon mapped keeps it.
const tmp = `${addon}.tmp`
copyFileSync(built, tmp)
try {
  unlinkSync(addon)
} catch {}
renameSync(tmp, addon)
if (profile === 'release' && process.platform === 'linux' && spawnSync('strip', ['--version'], { stdio: 'ignore' }).status === 0) {
  spawnSync('strip', ['--strip-debug', addon], { stdio: 'inherit' })
}
console.error(`gatewright: ${addon}`)
