'use strict'
// Loads the native addon (gatewright.<platform>.node, built from src/lib.rs) and defines the
// error classes it throws. The API itself is the addon's: see index.d.ts.

const { existsSync } = require('node:fs')
const { join } = require('node:path')

/** Every error this package throws; `diagnostics` says what, where and why. */
class GatewrightError extends Error {
  constructor(message, diagnostics = []) {
    super(message)
    this.diagnostics = diagnostics
  }
}
/** The input could not be read (syntax errors, undecodable objects, wrong argument type). */
class ParseError extends GatewrightError {}
/** The objects would be rejected by the API server. */
class ValidationError extends GatewrightError {}
for (const cls of [GatewrightError, ParseError, ValidationError]) {
  Object.defineProperty(cls.prototype, 'name', { value: cls.name, writable: true, configurable: true })
}

function isMusl() {
  const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null
  const header = report && (typeof report === 'string' ? JSON.parse(report).header : report.header)
  return !(header && header.glibcVersionRuntime)
}

/** The platform suffix `napi build --platform` gives the addon, e.g. `linux-x64-gnu`. */
function platformTag() {
  const { platform, arch } = process
  if (platform === 'linux') {
    const libc = isMusl() ? 'musl' : arch === 'arm' ? 'gnueabihf' : 'gnu'
    return `linux-${arch}-${libc}`
  }
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

function loadAddon() {
  const file = process.env.GATEWRIGHT_NODE_ADDON || join(__dirname, `gatewright.${platformTag()}.node`)
  if (!existsSync(file)) {
    throw new Error(
      `gatewright: no native addon for this platform (${file} is missing). ` +
        'Build it from a checkout of the repository with `npm run build` in bindings-node/ (needs Rust), ' +
        'or install a tarball packed on this platform.',
    )
  }
  return require(file)
}

const native = loadAddon()
native.__setErrorClasses({ GatewrightError, ParseError, ValidationError })

module.exports = {
  load: native.load,
  loadAsync: native.loadAsync,
  validate: native.validate,
  validateAsync: native.validateAsync,
  translate: native.translate,
  translateAsync: native.translateAsync,
  schema: native.schema,
  GatewrightError,
  ParseError,
  ValidationError,
}
