// Compiled (not run) by types.test.js: the declarations must accept typical use.
import {
  load,
  loadAsync,
  validate,
  validateAsync,
  translate,
  translateAsync,
  schema,
  GatewrightError,
  ParseError,
  ValidationError,
  type Diagnostic,
  type Manifest,
  type Translation,
  type Condition,
} from '..'

const objs: Manifest[] = load('examples/quickstart')
const names: string[] = objs.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`)
const t: Translation = translate(objs, { controllerName: 'example.com/gateway', validate: true, channel: 'experimental' })
const listeners: number = t.xds['default/insecure-port'].listeners.length
const accepted: Condition | undefined = t.status[0].status.conditions?.find((c) => c.type === 'Accepted')
const reasons: string[] = t.status.flatMap((s) => (s.status.parents ?? []).flatMap((p) => p.conditions.map((c) => c.reason)))
const envoy: Record<string, unknown> = t.bootstrap('default/insecure-port', '127.0.0.1')
const diags: Diagnostic[] = validate('kind: Gateway', { channel: 'standard' })
const sev: 'error' | 'warning' = diags[0].severity
const line: number | undefined = diags[0].source?.line
const s: Record<string, unknown> = schema('HTTPRoute')

async function later(): Promise<void> {
  const t2: Translation = await translateAsync('examples/quickstart')
  const m: Manifest[] = await loadAsync({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } })
  const d: Diagnostic[] = await validateAsync(m)
  try {
    translate('a: [')
  } catch (e) {
    if (e instanceof ParseError || e instanceof ValidationError) {
      const ds: Diagnostic[] = e.diagnostics
    } else if (e instanceof GatewrightError) {
      const msg: string = e.message
    }
  }
  void t2
  void d
}

void [names, listeners, accepted, reasons, envoy, sev, line, s, later]
