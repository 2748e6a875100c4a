/**
 * ops/: the Prometheus alert rules and the Grafana dashboard, checked by promtool (Debian's `prometheus` package,
 * which .ci/run installs) and held against the metrics the real Node server exposes and against
 * docs/operations.md, so that a renamed metric cannot leave a panel or an alert silently empty.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { parseConfig } from '../../src/config/index.js'
import { createJsonLogger } from '../../src/log.js'
import { parseServerConfig } from '../../src/node/config.js'
import { HOOK_OUTCOMES } from '../../src/node/metrics.js'
import { startNodeServer, type NodeServer } from '../../src/node/server.js'
import { NO_LIMITS } from '../support/app.js'
import { signupPayload } from '../support/payloads.js'
import { SECRET, signedPost } from '../support/sign.js'

const ROOT = resolve(import.meta.dirname, '../..')
const RULES = resolve(ROOT, 'ops/prometheus/alerts.yml')
const RULE_TESTS = resolve(ROOT, 'ops/prometheus/alerts.test.yml')
const DASHBOARD = resolve(ROOT, 'ops/grafana/sms-hook.json')
const DOCS = readFileSync(resolve(ROOT, 'docs/operations.md'), 'utf8')

interface AlertRule {
  alert: string
  expr: string
  for?: string
  labels?: Record<string, string>
}
const rulesFile = parse(readFileSync(RULES, 'utf8')) as { groups: { rules: AlertRule[] }[] }
const rules = rulesFile.groups.flatMap((group) => group.rules)
const ruleTests = parse(readFileSync(RULE_TESTS, 'utf8')) as { tests: { input_series: { series: string }[] }[] }

interface Panel {
  type: string
  title: string
  targets?: { expr: string }[]
  panels?: Panel[]
}
const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
  uid: string
  panels: Panel[]
  templating: { list: { name: string; type: string; query?: string | { query: string } }[] }
}
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])])
const dashboardExprs = panels.flatMap((p) => p.targets?.map((t) => t.expr) ?? [])
const variableQueries = dashboard.templating.list.flatMap((v) =>
  v.type === 'query' && v.query !== undefined ? [typeof v.query === 'string' ? v.query : v.query.query] : [],
)

/** PromQL words that are not metric names: operators and the modifiers of aggregations and vector matching. */
const KEYWORDS = new Set([
  ...['and', 'or', 'unless', 'bool', 'offset'],
  ...['by', 'without', 'on', 'ignoring', 'group_left', 'group_right'],
])

/**
 * The metric names a PromQL expression selects: what is left once strings, label matchers, ranges, grouping
 * label lists and Grafana's `$variables` are taken out, less function names (followed by `(`) and keywords.
 */
const metricNames = (expr: string): string[] => {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\w+/g, ' ')
  const names = new Set<string>()
  for (const match of bare.matchAll(/(?<![\w.])[A-Za-z_:][\w:]*/g)) {
    const rest = bare.slice(match.index + match[0].length).trimStart()
    if (!rest.startsWith('(') && !KEYWORDS.has(match[0])) names.add(match[0])
  }
  return [...names]
}

/** Grafana's `label_values(metric{...}, label)`: the metric it reads. */
const variableMetric = (query: string) => /^label_values\(\s*([A-Za-z_:][\w:]*)/.exec(query)?.[1]

/** Every series name a `/metrics` text declares: a histogram's as Prometheus stores them (_bucket, _sum, _count). */
const exposedNames = (text: string) =>
  new Set(
    text.split('\n').flatMap((line) => {
      const [, name, type] = /^# TYPE (\S+) (\S+)/.exec(line) ?? []
      if (name === undefined) return []
      if (type === 'histogram') return [`${name}_bucket`, `${name}_sum`, `${name}_count`]
      if (type === 'summary') return [name, `${name}_sum`, `${name}_count`]
      return [name]
    }),
  )

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0
const inCi = process.env.CI === 'true'
if (!promtool && !inCi) {
  console.warn(
    'ops.test.ts: promtool is missing, the alert rules go unchecked (apt-get install prometheus); CI fails without it',
  )
}

const run = (args: string[], cwd = ROOT) => {
  if (!promtool) throw new Error('promtool is missing: .ci/run installs it with apt-get install prometheus')
  const result = spawnSync('promtool', args, { cwd, encoding: 'utf8' })
  return { status: result.status, output: `${result.stdout}${result.stderr}` }
}

describe.skipIf(!promtool && !inCi)('the alert rules, by promtool', () => {
  it('are valid rules', () => {
    const { status, output } = run(['check', 'rules', RULES])
    expect(output).toContain(`SUCCESS: ${rules.length} rules found`)
    expect(status).toBe(0)
  })

  it('pass their unit tests: each alert fires on a series in trouble and not on a healthy one', () => {
    const { status, output } = run(['test', 'rules', RULE_TESTS], resolve(ROOT, 'ops/prometheus'))
    expect(output).toContain('SUCCESS')
    expect(status).toBe(0)
  })

  it("have a unit test for every alert, and the dashboard's queries are valid PromQL", () => {
    const tested = new Set([...readFileSync(RULE_TESTS, 'utf8').matchAll(/alertname: (\w+)/g)].map((m) => m[1]))
    expect(rules.map((r) => r.alert).filter((name) => !tested.has(name))).toEqual([])
    // promtool parses a recording rule's expression as Prometheus would, once Grafana's variables are filled in.
    const exprs = dashboardExprs.map((expr) => expr.replaceAll('$__rate_interval', '5m').replace(/\$\w+/g, '.+'))
    const file = join(mkdtempSync(join(tmpdir(), 'sms-hook-dashboard-')), 'dashboard.rules.yml')
    const recorded = exprs.map((expr, i) => ({ record: `panel:${i}`, expr }))
    writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules: recorded }] }))
    const { status, output } = run(['check', 'rules', file])
    expect(output).toContain(`SUCCESS: ${exprs.length} rules found`)
    expect(status).toBe(0)
  })
})

describe('the metrics the dashboard and the alerts name', () => {
  let server: NodeServer
  let exposed: Set<string>
  beforeAll(async () => {
    // The Node server as it runs, with two routes, after one signed hook went through it.
    const config = parseConfig({
      GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET,
      NODE_ENV: 'development',
      SMS_HOOK_ROUTES: '86=console;*=console',
      ...NO_LIMITS,
    })
    const listen = parseServerConfig({ PORT: '0', HOST: '127.0.0.1' })
    server = await startNodeServer(config, listen, { logger: createJsonLogger({ level: 'error', write: () => {} }) })
    const answer = await fetch(`${server.url}/send-sms`, signedPost(signupPayload().body))
    expect(await answer.text()).toBe('{}')
    exposed = exposedNames(await (await fetch(server.metricsUrl!)).text())
  })
  afterAll(() => server?.close())

  it('finds the names in PromQL as Prometheus reads them', () => {
    const ratio = 'sum by (j, le) (rate(a_bucket{x=~"$job", y="by (z) w"}[5m])) / ignoring (r) group_left sum(b_total)'
    expect(metricNames(`${ratio} > 0.5`)).toEqual(['a_bucket', 'b_total'])
    const quantile = 'histogram_quantile(0.99, sum by (le) (rate(c[$__rate_interval])))'
    expect(metricNames(`${quantile} and on (d) e == 1`)).toEqual(['c', 'e'])
  })

  it('are all exposed by the Node server', () => {
    const named = new Set([
      ...dashboardExprs.flatMap(metricNames),
      ...variableQueries.map(variableMetric),
      ...rules.flatMap((rule) => metricNames(rule.expr)),
      ...ruleTests.tests.flatMap((test) => test.input_series.map((input) => input.series.split('{')[0]!)),
    ])
    expect(named.size).toBeGreaterThan(20)
    expect([...named].filter((name) => name === undefined || !exposed.has(name))).toEqual([])
  })

  it('include the hook latency, the breakers, the routes, the delivery receipts and the default process and Node.js metrics', () => {
    const names = new Set(dashboardExprs.flatMap(metricNames))
    for (const name of [
      'sms_hook_request_duration_seconds_bucket',
      'sms_hook_deliveries_total',
      'sms_hook_circuit_breaker_open',
      'sms_hook_route_providers_available',
      'sms_hook_guard_refusals_total',
      'sms_hook_store_errors_total',
      'sms_hook_receipts_total',
      'sms_hook_delivery_statuses_total',
      'sms_hook_delivery_seconds_bucket',
      'sms_hook_resend_rotations_total',
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_p99_seconds',
    ]) {
      expect(names).toContain(name)
    }
  })

  it('are each documented in docs/operations.md, and the page lists no metric the server lacks', () => {
    const documented = new Set([...DOCS.matchAll(/^\| `(sms_hook_\w+)`/gm)].map((m) => m[1]!))
    const ours = new Set(
      [...exposed].filter((n) => n.startsWith('sms_hook_')).map((n) => n.replace(/_(bucket|sum|count)$/, '')),
    )
    expect([...documented].sort()).toEqual([...ours].sort())
  })
})

describe('docs/operations.md', () => {
  it('explains every outcome label value, and no other', () => {
    const section = DOCS.slice(DOCS.indexOf('## Outcomes'), DOCS.indexOf('\n## ', DOCS.indexOf('## Outcomes') + 1))
    const documented = [...section.matchAll(/^\| `(\w+)`/gm)].map((m) => m[1]!)
    expect(documented.sort()).toEqual([...HOOK_OUTCOMES].sort())
  })

  it('says what each alert means and what to do, under a heading of its name', () => {
    const headings = [...DOCS.matchAll(/^### (SmsHook\w+)$/gm)].map((m) => m[1]!)
    expect(headings.sort()).toEqual(rules.map((r) => r.alert).sort())
    const text = readFileSync(RULES, 'utf8')
    for (const rule of rules) expect(text).toContain(`docs/operations.md#${rule.alert.toLowerCase()}`)
  })

  it('names the dashboard file and the rule files it describes', () => {
    for (const file of ['ops/grafana/sms-hook.json', 'ops/prometheus/alerts.yml', 'ops/prometheus/alerts.test.yml']) {
      expect(DOCS).toContain(file)
    }
    expect(dashboard.uid).toBe('sms-hook')
  })
})
