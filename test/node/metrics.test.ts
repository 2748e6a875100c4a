/** Prometheus metrics of the Node server: fed by the hook events, served at /metrics, on its own port or behind a token. */
import { readdirSync, readFileSync } from 'node:fs'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/index.js'
import { DeadlineError, ProviderError } from '../../src/errors.js'
import { createJsonLogger } from '../../src/log.js'
import { parseServerConfig } from '../../src/node/config.js'
import type { DeliveryRecord, DeliveryStatus } from '../../src/delivery/types.js'
import type { HookEvent } from '../../src/hook/events.js'
import { createMetrics, DELIVERY_ERROR_PHASES, HOOK_OUTCOMES, RECEIPT_STATUSES } from '../../src/node/metrics.js'
import {
  DEFAULT_METRICS_PORT,
  isMetricsListenError,
  startNodeServer,
  type NodeOverrides,
  type NodeServer,
} from '../../src/node/server.js'
import { refused } from '../../src/outcome.js'
import { NO_LIMITS, ScriptedProvider, type LogLine } from '../support/app.js'
import { signupPayload } from '../support/payloads.js'
import { freePort } from '../support/redis.js'
import { failing, vendorEnv, working } from '../support/routing.js'
import { SECRET, signedPost } from '../support/sign.js'

const servers: NodeServer[] = []
const holders: Server[] = []
afterEach(async () => {
  await Promise.allSettled(servers.splice(0).map((s) => s.close()))
  for (const holder of holders.splice(0)) holder.close()
})

/**
 * A server on a free loopback port, in development unless `env` says otherwise; `logs` holds what it logged.
 * Production's default metrics port is a free one unless `overrides` names another.
 */
const start = async (env: Record<string, string> = {}, overrides: NodeOverrides = {}) => {
  const config = parseConfig({ GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, NODE_ENV: 'development', ...NO_LIMITS, ...env })
  const listen = parseServerConfig({ PORT: '0', HOST: '127.0.0.1', ...env })
  const logs: LogLine[] = []
  const logger = createJsonLogger({ level: 'info', write: (line) => logs.push(JSON.parse(line) as LogLine) })
  const providers = { [config.routing.providers[0]!.name]: new ScriptedProvider() }
  const server = await startNodeServer(config, listen, { logger, providers, defaultMetricsPort: 0, ...overrides })
  servers.push(server)
  return Object.assign(server, { logs })
}

/** A loopback port some other program holds. */
const takenPort = async () => {
  const holder = createServer()
  holders.push(holder)
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
  return (holder.address() as AddressInfo).port
}

const PRODUCTION = { NODE_ENV: 'production', GOTRUE_SMS_PROVIDER: 'console' }
const TOKEN = 'metrics-token-0123456789'
const bearer = { authorization: `Bearer ${TOKEN}` }

/** The value of one sample line (`name{labels} value`), or undefined when the text has no such line. */
const sample = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

const call = { key: 'k', to: '8613800138000', smsType: 'sms' }

/**
 * The `code` of every refusal built in src/: `refused(status, 'code', ...)` and the guard's
 * `refusedBy(rule, status, 'code', ...)`, read from the source so that a new code cannot miss the list.
 */
const refusalCodes = () => {
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? files(join(dir, entry.name)) : [join(dir, entry.name)],
    )
  const codes = new Set<string>()
  for (const file of files('src').filter((f) => f.endsWith('.ts'))) {
    const source = readFileSync(file, 'utf8')
    for (const m of source.matchAll(/\brefused(?:By)?\((?:[\w']+, )?\d{3}, '(\w+)'/g)) codes.add(m[1]!)
  }
  return [...codes]
}

describe('the metrics observer', () => {
  it("counts each event under a name starting with sms_hook_, beside the default metrics' standard names", async () => {
    const { observe, registry } = createMetrics()
    const delivered = { ok: true as const, provider: 'aliyun', messageId: 'm' }
    const limited = { ...refused(429, 'too_many_requests', 'wait'), final: true }
    observe({
      type: 'attempt_failed',
      call,
      provider: 'aliyun',
      attempt: 1,
      error: new ProviderError('retryable', 'throttled'),
      providerMs: 120,
    })
    observe({
      type: 'delivered',
      call,
      outcome: delivered,
      provider: 'aliyun',
      attempts: 2,
      failedAttempts: [],
      skipped: [],
      durationMs: 400,
      providerMs: 250,
    })
    observe({ type: 'replayed', call, outcome: delivered, provider: 'aliyun', durationMs: 1, answeredAsSent: false })
    observe({ type: 'guard_refused', call, rule: 'per_number', refusal: limited })
    observe({
      type: 'failed',
      call,
      outcome: limited,
      provider: undefined,
      attempts: 0,
      failedAttempts: [],
      skipped: [],
      durationMs: 1,
      answeredAsSent: false,
    })
    observe({ type: 'replayed', call, outcome: limited, provider: undefined, durationMs: 1, answeredAsSent: false })
    const unauthorized = refused(401, 'unauthorized', 'no')
    observe({ type: 'refused', step: 'verify', refusal: unauthorized, reason: 'no_matching_signature', durationMs: 2 })
    observe({ type: 'state_down', call, step: 'idempotency', policy: 'send', error: new Error('down') })
    observe({ type: 'store_error', call, phase: 'record', error: new Error('down') })
    observe({ type: 'breaker', provider: 'twilio', state: 'opened' })
    observe({ type: 'breaker', provider: 'vonage', state: 'opened' })
    observe({ type: 'breaker', provider: 'vonage', state: 'half_open' })
    observe({ type: 'breaker', provider: 'textlocal', state: 'opened' })
    observe({ type: 'breaker', provider: 'textlocal', state: 'half_open' })
    observe({ type: 'breaker', provider: 'textlocal', state: 'closed' })
    const text = await registry.metrics()

    expect(sample(text, 'sms_hook_hooks_total{outcome="sent"}')).toBe(1)
    expect(sample(text, 'sms_hook_hooks_total{outcome="replayed"}')).toBe(2)
    expect(sample(text, 'sms_hook_hooks_total{outcome="too_many_requests"}')).toBe(1)
    expect(sample(text, 'sms_hook_hooks_total{outcome="unauthorized"}')).toBe(1)
    expect(sample(text, 'sms_hook_deliveries_total{provider="aliyun",outcome="retryable"}')).toBe(1)
    expect(sample(text, 'sms_hook_deliveries_total{provider="aliyun",outcome="sent"}')).toBe(1)
    expect(sample(text, 'sms_hook_provider_duration_seconds_sum{provider="aliyun",outcome="sent"}')).toBe(0.25)
    expect(
      sample(text, 'sms_hook_provider_duration_seconds_bucket{le="0.1",provider="aliyun",outcome="retryable"}'),
    ).toBe(0)
    expect(
      sample(text, 'sms_hook_provider_duration_seconds_bucket{le="0.25",provider="aliyun",outcome="retryable"}'),
    ).toBe(1)
    expect(sample(text, 'sms_hook_idempotent_repeats_total{outcome="sent"}')).toBe(1)
    expect(sample(text, 'sms_hook_idempotent_repeats_total{outcome="too_many_requests"}')).toBe(1)
    expect(sample(text, 'sms_hook_guard_refusals_total{rule="per_number"}')).toBe(1)
    expect(sample(text, 'sms_hook_state_down_total{step="idempotency",policy="send"}')).toBe(1)
    expect(sample(text, 'sms_hook_store_errors_total{phase="record",reason="other"}')).toBe(1)
    expect(sample(text, 'sms_hook_circuit_breaker_open{provider="twilio"}')).toBe(1)
    // Half open lets one probe through and skips the provider otherwise: not closed yet.
    expect(sample(text, 'sms_hook_circuit_breaker_open{provider="vonage"}')).toBe(1)
    expect(sample(text, 'sms_hook_circuit_breaker_open{provider="textlocal"}')).toBe(0)
    // Once per call, by the outcome it answered, from its arrival: the attempts' 400 ms, not the provider's 250.
    expect(sample(text, 'sms_hook_request_duration_seconds_sum{outcome="sent"}')).toBe(0.4)
    expect(sample(text, 'sms_hook_request_duration_seconds_count{outcome="sent"}')).toBe(1)
    expect(sample(text, 'sms_hook_request_duration_seconds_count{outcome="replayed"}')).toBe(2)
    expect(sample(text, 'sms_hook_request_duration_seconds_count{outcome="too_many_requests"}')).toBe(1)
    expect(sample(text, 'sms_hook_request_duration_seconds_bucket{le="0.005",outcome="unauthorized"}')).toBe(1)
    expect(sample(text, 'sms_hook_request_duration_seconds_bucket{le="5",outcome="unauthorized"}')).toBe(1)
    expect(sample(text, 'process_cpu_seconds_total')).toBeGreaterThan(0)
    expect(sample(text, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0)

    const names = text.split('\n').flatMap((l) => /^# TYPE (\S+)/.exec(l)?.slice(1) ?? [])
    expect(names.filter((n) => !/^(sms_hook|process|nodejs)_/.test(n))).toEqual([])
    expect(names.filter((n) => n.startsWith('sms_hook_process_'))).toEqual([])
    expect(names.filter((n) => n.startsWith('sms_hook_')).length).toBeGreaterThan(8)
    expect(names).toEqual(expect.arrayContaining(['process_resident_memory_bytes', 'nodejs_heap_size_used_bytes']))
  })

  it('has a closed breaker per provider of every route from the start, and counts what each route has', async () => {
    const routes = [
      { prefix: '86', providers: ['aliyun', 'tencent'] },
      { prefix: '*', providers: ['twilio', 'aliyun'] },
    ]
    const { observe, registry } = createMetrics({ routes })
    const before = await registry.metrics()
    for (const provider of ['aliyun', 'tencent', 'twilio']) {
      expect(sample(before, `sms_hook_circuit_breaker_open{provider="${provider}"}`)).toBe(0)
    }
    expect(sample(before, 'sms_hook_route_providers_available{route="86"}')).toBe(2)
    expect(sample(before, 'sms_hook_route_providers_available{route="*"}')).toBe(2)
    expect(sample(before, 'sms_hook_request_duration_seconds_count{outcome="sent"}')).toBe(0)
    expect(sample(before, 'sms_hook_guard_refusals_total{rule="per_ip"}')).toBe(0)

    observe({ type: 'breaker', provider: 'aliyun', state: 'opened' })
    observe({ type: 'breaker', provider: 'tencent', state: 'opened' })
    observe({ type: 'breaker', provider: 'tencent', state: 'half_open' })
    const down = await registry.metrics()
    expect(sample(down, 'sms_hook_route_providers_available{route="86"}')).toBe(0)
    expect(sample(down, 'sms_hook_route_providers_available{route="*"}')).toBe(1)

    observe({ type: 'breaker', provider: 'tencent', state: 'closed' })
    expect(sample(await registry.metrics(), 'sms_hook_route_providers_available{route="86"}')).toBe(1)
  })

  it('counts every outcome, every guard rule and the configured state-down policy from 0 before any call', async () => {
    const text = await createMetrics({ stateDown: 'refuse' }).registry.metrics()
    for (const outcome of HOOK_OUTCOMES) expect(sample(text, `sms_hook_hooks_total{outcome="${outcome}"}`)).toBe(0)
    const rules = [
      ...['country_not_allowed', 'prefix_blocked'],
      ...['per_ip', 'per_network', 'per_number', 'per_country', 'global'],
    ]
    for (const rule of rules) expect(sample(text, `sms_hook_guard_refusals_total{rule="${rule}"}`)).toBe(0)
    expect(sample(text, 'sms_hook_state_down_total{step="idempotency",policy="refuse"}')).toBe(0)
    expect(sample(text, 'sms_hook_state_down_total{step="guard",policy="refuse"}')).toBe(0)
    expect(sample(text, 'sms_hook_state_down_total{step="guard",policy="send"}')).toBeUndefined()
  })

  it('lists as outcomes exactly sent, replayed and the code of every refusal the source builds', () => {
    expect([...HOOK_OUTCOMES].sort()).toEqual(['sent', 'replayed', ...refusalCodes()].sort())
  })

  it('labels a provider attempt that ran out of time, or failed untyped, apart from the typed kinds', async () => {
    const { observe, registry } = createMetrics()
    observe({
      type: 'attempt_failed',
      call,
      provider: 'p',
      attempt: 1,
      error: new DeadlineError('late'),
      providerMs: 4500,
    })
    observe({ type: 'attempt_failed', call, provider: 'p', attempt: 1, error: new TypeError('bug'), providerMs: 3 })
    const text = await registry.metrics()
    expect(sample(text, 'sms_hook_deliveries_total{provider="p",outcome="timeout"}')).toBe(1)
    expect(sample(text, 'sms_hook_deliveries_total{provider="p",outcome="unexpected"}')).toBe(1)
  })
})

describe('the metrics of delivery receipts', () => {
  const SENT_AT = Date.UTC(2025, 0, 1, 8, 0, 0)
  /** A kept send, as the delivery records hold it after a report moved it to `status`. */
  const record = (status: DeliveryStatus, fields: Partial<DeliveryRecord> = {}): DeliveryRecord => ({
    reference: 'ref-1',
    provider: 'aliyun',
    status,
    vendorMessageId: '900612345678^0',
    vendorCode: status === 'delivered' ? 'DELIVERED' : 'MK:0001',
    sentAt: SENT_AT,
    statusAt: SENT_AT + 7_400,
    ...(status === 'delivered' ? { deliveredAt: SENT_AT + 7_400 } : {}),
    to: '+86138****8000',
    number: '0123456789abcdef0123456789abcdef',
    country: '86',
    ...fields,
  })
  type Receipt = Extract<HookEvent, { type: 'receipt' }>
  /** A report that moved the send to its record's status, from a vendor's push. */
  const settled = (sent: DeliveryRecord, extra: Partial<Receipt> = {}): Receipt => ({
    type: 'receipt',
    provider: sent.provider,
    via: 'receipt',
    status: sent.status,
    changed: true,
    record: sent,
    ...(sent.vendorCode === undefined ? {} : { vendorCode: sent.vendorCode }),
    ...extra,
  })

  it('counts each final status once, by provider and by country, and the seconds to the handset', async () => {
    const { observe, registry } = createMetrics()
    const delivered = record('delivered')
    observe(settled(delivered))
    // The same report pushed again, and a `sent` that arrives after it: nothing changed, nothing counted.
    observe(settled(delivered, { changed: false }))
    observe(settled(delivered, { status: 'sent', changed: false }))
    // Intermediate statuses move a send without settling it.
    observe(settled(record('sent', { reference: 'ref-2', provider: 'twilio', country: '1' })))
    observe(settled(record('failed', { reference: 'ref-3', country: '852' })))
    observe(settled(record('expired', { reference: 'ref-4' })))
    // What QuerySendDetails said of an unknown outcome counts as a pushed report does.
    observe(settled(record('delivered', { reference: 'ref-5', deliveredAt: SENT_AT + 45_000 }), { via: 'reconcile' }))
    const text = await registry.metrics()

    expect(sample(text, 'sms_hook_receipts_total{provider="aliyun",status="delivered"}')).toBe(2)
    expect(sample(text, 'sms_hook_receipts_total{provider="aliyun",status="failed"}')).toBe(1)
    expect(sample(text, 'sms_hook_receipts_total{provider="aliyun",status="expired"}')).toBe(1)
    expect(sample(text, 'sms_hook_receipts_total{provider="twilio",status="sent"}')).toBeUndefined()
    expect(sample(text, 'sms_hook_delivery_statuses_total{provider="aliyun",country="86",status="delivered"}')).toBe(2)
    expect(sample(text, 'sms_hook_delivery_statuses_total{provider="aliyun",country="852",status="failed"}')).toBe(1)
    expect(sample(text, 'sms_hook_delivery_statuses_total{provider="aliyun",country="86",status="expired"}')).toBe(1)
    expect(text).not.toMatch(/sms_hook_delivery_statuses_total\{[^}]*provider="twilio"/)

    // 7.4 s and 45 s: one in the 10 s bucket, both by 60 s; failed and expired sends have no such time.
    expect(sample(text, 'sms_hook_delivery_seconds_count{provider="aliyun"}')).toBe(2)
    expect(sample(text, 'sms_hook_delivery_seconds_sum{provider="aliyun"}')).toBe(52.4)
    expect(sample(text, 'sms_hook_delivery_seconds_bucket{le="5",provider="aliyun"}')).toBe(0)
    expect(sample(text, 'sms_hook_delivery_seconds_bucket{le="10",provider="aliyun"}')).toBe(1)
    expect(sample(text, 'sms_hook_delivery_seconds_bucket{le="30",provider="aliyun"}')).toBe(1)
    expect(sample(text, 'sms_hook_delivery_seconds_bucket{le="60",provider="aliyun"}')).toBe(2)
    expect(sample(text, 'sms_hook_delivery_seconds_bucket{le="1800",provider="aliyun"}')).toBe(2)
    expect(sample(text, 'sms_hook_delivery_seconds_bucket{le="+Inf",provider="aliyun"}')).toBe(2)
  })

  it('counts a delivery whose receipt gave no time, and one the clocks put before the send, without a bad figure', async () => {
    const { observe, registry } = createMetrics()
    const { deliveredAt: _, ...noTime } = record('delivered')
    observe(settled(noTime))
    // The vendor's clock behind ours: 0 s, never a negative observation.
    observe(settled(record('delivered', { reference: 'ref-2', deliveredAt: SENT_AT - 3_000 })))
    const text = await registry.metrics()
    expect(sample(text, 'sms_hook_receipts_total{provider="aliyun",status="delivered"}')).toBe(2)
    expect(sample(text, 'sms_hook_delivery_statuses_total{provider="aliyun",country="86",status="delivered"}')).toBe(2)
    expect(sample(text, 'sms_hook_delivery_seconds_count{provider="aliyun"}')).toBe(1)
    expect(sample(text, 'sms_hook_delivery_seconds_sum{provider="aliyun"}')).toBe(0)
    expect(sample(text, 'sms_hook_delivery_seconds_bucket{le="1",provider="aliyun"}')).toBe(1)
  })

  it('counts reports for no kept send and refused reports by provider, with no country or seconds', async () => {
    const { observe, registry } = createMetrics()
    const unmatched: Receipt = {
      type: 'receipt',
      provider: 'tencent',
      via: 'receipt',
      status: 'unmatched',
      changed: false,
      vendorCode: 'DELIVRD',
      reason: 'no kept send has sid 2019:0123',
    }
    observe(unmatched)
    observe(unmatched)
    observe({ type: 'receipt', provider: 'twilio', via: 'receipt', status: 'refused', changed: false, reason: 'sig' })
    const text = await registry.metrics()
    expect(sample(text, 'sms_hook_receipts_total{provider="tencent",status="unmatched"}')).toBe(2)
    expect(sample(text, 'sms_hook_receipts_total{provider="twilio",status="refused"}')).toBe(1)
    expect(text).not.toMatch(/^sms_hook_delivery_statuses_total\{/m)
    expect(text).not.toMatch(/^sms_hook_delivery_seconds_count\{/m)
  })

  it('counts resend rotations by the provider left and the one tried first, and delivery record failures by phase', async () => {
    const { observe, registry } = createMetrics()
    observe({ type: 'resend_rotated', call, from: 'aliyun', to: 'tencent' })
    observe({ type: 'resend_rotated', call, from: 'aliyun', to: 'tencent' })
    observe({ type: 'resend_rotated', call, from: 'tencent', to: 'aliyun' })
    observe({ type: 'delivery_error', phase: 'receipt', error: new Error('down') })
    observe({ type: 'delivery_error', phase: 'record', error: new Error('down'), key: 'k' })
    const text = await registry.metrics()
    expect(sample(text, 'sms_hook_resend_rotations_total{from="aliyun",to="tencent"}')).toBe(2)
    expect(sample(text, 'sms_hook_resend_rotations_total{from="tencent",to="aliyun"}')).toBe(1)
    expect(sample(text, 'sms_hook_delivery_errors_total{phase="receipt"}')).toBe(1)
    expect(sample(text, 'sms_hook_delivery_errors_total{phase="record"}')).toBe(1)
    expect(sample(text, 'sms_hook_delivery_errors_total{phase="resend"}')).toBe(0)
  })

  it('has every receipt status, rotation and delivery-error phase of the configured routes at 0 from the start', async () => {
    const routes = [
      { prefix: '86', providers: ['aliyun', 'tencent'] },
      { prefix: '*', providers: ['twilio'] },
    ]
    const text = await createMetrics({ routes }).registry.metrics()
    for (const provider of ['aliyun', 'tencent', 'twilio']) {
      for (const status of RECEIPT_STATUSES) {
        expect(sample(text, `sms_hook_receipts_total{provider="${provider}",status="${status}"}`)).toBe(0)
      }
      expect(sample(text, `sms_hook_delivery_seconds_count{provider="${provider}"}`)).toBe(0)
      expect(sample(text, `sms_hook_delivery_seconds_bucket{le="+Inf",provider="${provider}"}`)).toBe(0)
    }
    expect(sample(text, 'sms_hook_resend_rotations_total{from="aliyun",to="tencent"}')).toBe(0)
    expect(sample(text, 'sms_hook_resend_rotations_total{from="tencent",to="aliyun"}')).toBe(0)
    // A route of one provider has nowhere to rotate to, and no rotation crosses routes.
    expect(text).not.toMatch(/sms_hook_resend_rotations_total\{[^}]*twilio/)
    expect(RECEIPT_STATUSES).toEqual(['delivered', 'failed', 'expired', 'unmatched', 'refused'])
    for (const phase of DELIVERY_ERROR_PHASES) {
      expect(sample(text, `sms_hook_delivery_errors_total{phase="${phase}"}`)).toBe(0)
    }
    expect([...DELIVERY_ERROR_PHASES].sort()).toEqual(['receipt', 'reconcile', 'record', 'resend'])
  })
})

describe('GET /metrics on the Node server', () => {
  it('serves the hook calls it answered in Prometheus text format on the main port in development', async () => {
    const { url, metricsUrl } = await start()
    expect(metricsUrl).toBe(`${url}/metrics`)
    const { body } = signupPayload()
    await fetch(`${url}/send-sms`, signedPost(body))
    await fetch(`${url}/send-sms`, signedPost(body))
    await fetch(`${url}/send-sms`, { method: 'POST', body })
    const response = await fetch(`${url}/metrics`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const text = await response.text()
    expect(sample(text, 'sms_hook_hooks_total{outcome="sent"}')).toBe(1)
    expect(sample(text, 'sms_hook_hooks_total{outcome="replayed"}')).toBe(1)
    expect(sample(text, 'sms_hook_hooks_total{outcome="unauthorized"}')).toBe(1)
    expect(sample(text, 'sms_hook_deliveries_total{provider="scripted",outcome="sent"}')).toBe(1)
    expect(sample(text, 'sms_hook_provider_duration_seconds_count{provider="scripted",outcome="sent"}')).toBe(1)
    expect(sample(text, 'sms_hook_request_duration_seconds_count{outcome="sent"}')).toBe(1)
    expect(sample(text, 'sms_hook_request_duration_seconds_count{outcome="replayed"}')).toBe(1)
    expect(sample(text, 'sms_hook_request_duration_seconds_count{outcome="unauthorized"}')).toBe(1)
    expect(sample(text, 'sms_hook_request_duration_seconds_bucket{le="+Inf",outcome="sent"}')).toBe(1)
    expect(sample(text, 'process_start_time_seconds')).toBeGreaterThan(0)
  })

  it('shows each configured breaker closed from the start, and a route whose providers all opened at 0', async () => {
    const env = { ...vendorEnv(), SMS_HOOK_ROUTES: '86=aliyun,tencent;*=twilio', SMS_HOOK_BREAKER_THRESHOLD: '1' }
    const providers = {
      aliyun: failing('aliyun', 'retryable'),
      tencent: failing('tencent', 'retryable'),
      twilio: working('twilio'),
    }
    const { url } = await start(env, { providers })
    const before = await (await fetch(`${url}/metrics`)).text()
    for (const provider of ['aliyun', 'tencent', 'twilio']) {
      expect(sample(before, `sms_hook_circuit_breaker_open{provider="${provider}"}`)).toBe(0)
    }
    expect(sample(before, 'sms_hook_route_providers_available{route="86"}')).toBe(2)

    const answer = await (await fetch(`${url}/send-sms`, signedPost(signupPayload().body))).json()
    expect(answer).toMatchObject({ error: { http_code: 503 } })
    const after = await (await fetch(`${url}/metrics`)).text()
    expect(sample(after, 'sms_hook_circuit_breaker_open{provider="aliyun"}')).toBe(1)
    expect(sample(after, 'sms_hook_circuit_breaker_open{provider="tencent"}')).toBe(1)
    expect(sample(after, 'sms_hook_circuit_breaker_open{provider="twilio"}')).toBe(0)
    expect(sample(after, 'sms_hook_route_providers_available{route="86"}')).toBe(0)
    expect(sample(after, 'sms_hook_route_providers_available{route="*"}')).toBe(1)
    expect(sample(after, 'sms_hook_request_duration_seconds_count{outcome="unavailable"}')).toBe(1)
  })

  it('serves the receipt, rotation and delivery-error series of the configured routes at 0 before any report', async () => {
    const env = { ...vendorEnv(), SMS_HOOK_ROUTES: '86=aliyun,tencent;*=twilio' }
    const providers = { aliyun: working('aliyun'), tencent: working('tencent'), twilio: working('twilio') }
    const { url } = await start(env, { providers })
    const text = await (await fetch(`${url}/metrics`)).text()
    for (const provider of ['aliyun', 'tencent', 'twilio']) {
      for (const status of RECEIPT_STATUSES) {
        expect(sample(text, `sms_hook_receipts_total{provider="${provider}",status="${status}"}`)).toBe(0)
      }
      expect(sample(text, `sms_hook_delivery_seconds_count{provider="${provider}"}`)).toBe(0)
    }
    expect(sample(text, 'sms_hook_resend_rotations_total{from="tencent",to="aliyun"}')).toBe(0)
    expect(sample(text, 'sms_hook_delivery_errors_total{phase="reconcile"}')).toBe(0)
    expect(text).toContain('# TYPE sms_hook_delivery_statuses_total counter')
  })

  it('counts guard refusals by rule', async () => {
    const { url } = await start({ SMS_HOOK_LIMIT_PER_NUMBER: '1/1h' })
    for (let i = 0; i < 3; i++) await fetch(`${url}/send-sms`, signedPost(signupPayload().body))
    const text = await (await fetch(`${url}/metrics`)).text()
    expect(sample(text, 'sms_hook_guard_refusals_total{rule="per_number"}')).toBe(2)
    expect(sample(text, 'sms_hook_hooks_total{outcome="too_many_requests"}')).toBe(2)
  })

  it("shows the in-memory guard's pressure: exact windows, the cap, and calls counted past it", async () => {
    const { url } = await start({ SMS_HOOK_LIMIT_PER_NUMBER: '5/1h', SMS_HOOK_GUARD_MAX_KEYS: '100' })
    const before = await (await fetch(`${url}/metrics`)).text()
    expect(sample(before, 'sms_hook_guard_keys{state="max"}')).toBe(100)
    expect(sample(before, 'sms_hook_guard_sketched_hits_total')).toBe(0)
    // 120 distinct numbers: past 100 windows, the others are counted in the sketch.
    for (let i = 0; i < 120; i++) {
      await fetch(
        `${url}/send-sms`,
        signedPost(signupPayload({ phone: `861380013${String(i).padStart(4, '0')}` }).body),
      )
    }
    const text = await (await fetch(`${url}/metrics`)).text()
    expect(sample(text, 'sms_hook_guard_keys{state="exact"}')).toBe(100)
    expect(sample(text, 'sms_hook_guard_sketched_hits_total')).toBe(20)
  })

  it('with SMS_HOOK_METRICS_TOKEN, answers only a request with that bearer token', async () => {
    const token = TOKEN
    const { url } = await start({ SMS_HOOK_METRICS_TOKEN: token })
    expect((await fetch(`${url}/metrics`)).status).toBe(401)
    const wrong = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token.replace('0', '1')}` } })
    expect(wrong.status).toBe(401)
    expect(wrong.headers.get('www-authenticate')).toBe('Bearer')
    expect((await fetch(`${url}/metrics`, { headers: { authorization: token } })).status).toBe(401)
    expect((await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
  })

  it('with SMS_HOOK_METRICS_PORT, serves them only on that port of the same host', async () => {
    const server = await start({ SMS_HOOK_METRICS_PORT: '0', SMS_HOOK_METRICS_TOKEN: TOKEN })
    expect(server.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
    expect(server.bound).toEqual({ url: server.url, metricsUrl: server.metricsUrl })
    expect(new URL(server.metricsUrl!).port).not.toBe(new URL(server.url).port)
    await fetch(`${server.url}/send-sms`, signedPost(signupPayload().body))
    expect((await fetch(`${server.url}/metrics`, { headers: bearer })).status).toBe(404)
    expect((await fetch(server.metricsUrl!)).status).toBe(401)
    const response = await fetch(server.metricsUrl!, { headers: bearer })
    expect(sample(await response.text(), 'sms_hook_hooks_total{outcome="sent"}')).toBe(1)
    expect((await fetch(new URL('/send-sms', server.metricsUrl), signedPost(signupPayload().body))).status).toBe(404)
    await server.close()
    await expect(fetch(server.metricsUrl!)).rejects.toThrow()
  })
})

describe('the addresses a server reports', () => {
  it('on every interface, name the address bound for the start-up line, and loopback for callers here', async () => {
    const server = await start({ ...PRODUCTION, HOST: '0.0.0.0', SMS_HOOK_METRICS_PORT: '0' })
    const [main, metrics] = [new URL(server.url).port, new URL(server.metricsUrl!).port]
    expect(server.url).toBe(`http://127.0.0.1:${main}`)
    expect(server.bound).toEqual({ url: `http://0.0.0.0:${main}`, metricsUrl: `http://0.0.0.0:${metrics}/metrics` })
    expect((await fetch(server.metricsUrl!)).status).toBe(200)
  })

  it('with metrics on the main port, name the full metrics URL on the bound address', async () => {
    const server = await start({ HOST: '0.0.0.0' })
    expect(server.bound.metricsUrl).toBe(`${server.bound.url}/metrics`)
    expect(server.bound.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/)
  })
})

describe('GET /metrics in production', () => {
  it('without SMS_HOOK_METRICS_TOKEN, is not on the public port but on a port of its own', async () => {
    const server = await start(PRODUCTION)
    await fetch(`${server.url}/send-sms`, signedPost(signupPayload().body))
    expect((await fetch(`${server.url}/metrics`)).status).toBe(404)
    expect(new URL(server.metricsUrl!).port).not.toBe(new URL(server.url).port)
    const response = await fetch(server.metricsUrl!)
    expect(response.status).toBe(200)
    expect(sample(await response.text(), 'sms_hook_hooks_total{outcome="sent"}')).toBe(1)
  })

  it('with SMS_HOOK_METRICS_TOKEN, is on the main port for that bearer token only', async () => {
    const server = await start({ ...PRODUCTION, SMS_HOOK_METRICS_TOKEN: TOKEN })
    expect(server.metricsUrl).toBe(`${server.url}/metrics`)
    expect((await fetch(server.metricsUrl!)).status).toBe(401)
    expect((await fetch(server.metricsUrl!, { headers: bearer })).status).toBe(200)
  })

  it('defaults to port 9464 on the same host', async () => {
    expect(DEFAULT_METRICS_PORT).toBe(9464)
    // The real default: another hook or test on this machine may hold it, which the warning then names.
    const server = await start(PRODUCTION, { defaultMetricsPort: DEFAULT_METRICS_PORT })
    const warning = server.logs.find((l) => l.level === 'warn')
    if (server.metricsUrl === undefined) expect(warning).toMatchObject({ port: 9464, code: 'EADDRINUSE' })
    else expect(server.metricsUrl).toBe('http://127.0.0.1:9464/metrics')
  })

  it('when the default port is taken, warns and runs without metrics', async () => {
    const port = await takenPort()
    const server = await start(PRODUCTION, { defaultMetricsPort: port })
    expect(server.metricsUrl).toBeUndefined()
    expect(server.logs.filter((l) => l.level === 'warn')).toEqual([
      {
        level: 'warn',
        time: expect.any(String),
        msg: expect.stringMatching(
          /^metrics are not served: port \d+, .* set SMS_HOOK_METRICS_PORT to a free port, or SMS_HOOK_METRICS_TOKEN/,
        ),
        port,
        host: '127.0.0.1',
        code: 'EADDRINUSE',
      },
    ])
    expect((await fetch(`${server.url}/metrics`)).status).toBe(404)
    expect(await (await fetch(`${server.url}/send-sms`, signedPost(signupPayload().body))).text()).toBe('{}')
  })

  it('when an explicit SMS_HOOK_METRICS_PORT is taken, fails to start, naming it, and frees the main port', async () => {
    const [port, main] = [await takenPort(), await freePort()]
    const error: unknown = await start({
      ...PRODUCTION,
      PORT: String(main),
      SMS_HOOK_METRICS_PORT: String(port),
    }).catch((e: unknown) => e)
    expect(isMetricsListenError(error)).toBe(true)
    expect(error).toMatchObject({
      port,
      message: `SMS_HOOK_METRICS_PORT: cannot listen on ${port}`,
      cause: { code: 'EADDRINUSE' },
    })
    const again = createServer()
    holders.push(again)
    await new Promise<void>((resolve, reject) => again.once('error', reject).listen(main, '127.0.0.1', resolve))
  })
})

describe('the metrics settings', () => {
  it('refuse a metrics port equal to PORT, a port out of range and a short token, naming each', () => {
    expect(() => parseServerConfig({ PORT: '9000', SMS_HOOK_METRICS_PORT: '9000' })).toThrow(
      'SMS_HOOK_METRICS_PORT: must differ from PORT',
    )
    expect(() => parseServerConfig({ SMS_HOOK_METRICS_PORT: '70000' })).toThrow(/^SMS_HOOK_METRICS_PORT/)
    expect(() => parseServerConfig({ SMS_HOOK_METRICS_TOKEN: 'short' })).toThrow(/^SMS_HOOK_METRICS_TOKEN/)
    expect(parseServerConfig({ SMS_HOOK_METRICS_PORT: '9464', SMS_HOOK_METRICS_TOKEN: TOKEN }).metrics).toEqual({
      port: 9464,
      token: TOKEN,
    })
  })
})
