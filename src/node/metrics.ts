/**
 * Prometheus metrics of the Node server, fed by the hook's events: one more observer beside the JSON log. Node
 * only: prom-client needs Node, and nothing the Worker imports may import this module.
 */
import type { Handler } from 'hono'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import { errorBody, isDeadlineError, isProviderError, storeErrorReason } from '../errors.js'
import type { HookObserver } from '../hook/events.js'
import type { Outcome } from '../outcome.js'
import { bearerToken, isToken } from '../token.js'

export interface MetricsOptions {
  /** `GET /metrics` answers `Authorization: Bearer <token>` only. */
  token?: string | undefined
  /** The in-memory guard counters' figures (`MemoryRateCounters.stats`); absent with Redis. */
  guardKeys?: (() => { exact: number; max: number; sketched: number }) | undefined
}

export interface Metrics {
  registry: Registry
  /** Counts what each hook event reports. */
  observe: HookObserver
  /** `GET /metrics` in Prometheus text format; with `token`, only for `Authorization: Bearer <token>`. */
  handler: Handler
}

/**
 * A registry of its own (several apps may live in one process, as in tests), with every name under `sms_hook_`,
 * the default process metrics included.
 *
 * @example
 * const metrics = createMetrics({ token: config.metrics.token })
 * const app = createApp(config, { ...deps, observers: [metrics.observe], metrics: metrics.handler })
 */
export const createMetrics = (options: MetricsOptions = {}): Metrics => {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'sms_hook_' })
  const registers = [registry]
  const { guardKeys } = options
  if (guardKeys !== undefined) {
    // Read when scraped: the counters keep their own figures, the hook's path pays nothing for them.
    new Gauge({
      name: 'sms_hook_guard_keys',
      help: "The in-memory guard's windows: exact (counted one by one) and max (SMS_HOOK_GUARD_MAX_KEYS). At max, new numbers are counted in a fixed-size sketch instead.",
      labelNames: ['state'],
      registers,
      collect() {
        this.set({ state: 'exact' }, guardKeys().exact)
        this.set({ state: 'max' }, guardKeys().max)
      },
    })
    new Counter({
      name: 'sms_hook_guard_sketched_hits_total',
      help: 'Calls the in-memory guard counted in its sketch because SMS_HOOK_GUARD_MAX_KEYS windows were live: a flood of distinct numbers, or a cap too low.',
      registers,
      collect() {
        this.reset()
        this.inc(guardKeys().sketched)
      },
    })
  }

  const hooks = new Counter({
    name: 'sms_hook_hooks_total',
    help: 'Hook calls answered, by outcome: sent, replayed (an idempotent repeat), or the refusal or failure code.',
    labelNames: ['outcome'],
    registers,
  })
  const deliveries = new Counter({
    name: 'sms_hook_deliveries_total',
    help: 'Provider attempts, by provider and outcome: sent, or the failure kind (timeout, unexpected for an untyped error).',
    labelNames: ['provider', 'outcome'],
    registers,
  })
  const lateOutcomes = new Counter({
    name: 'sms_hook_late_outcomes_total',
    help: 'Provider calls that ended after the hook had answered (the SMS might have gone, so GoTrue was told success), by provider and what they ended with: sent, or the failure code.',
    labelNames: ['provider', 'outcome'],
    registers,
  })
  const latency = new Histogram({
    name: 'sms_hook_provider_duration_seconds',
    help: 'How long one provider attempt took, by provider and outcome.',
    labelNames: ['provider', 'outcome'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 4, 5],
    registers,
  })
  const repeats = new Counter({
    name: 'sms_hook_idempotent_repeats_total',
    help: 'Repeats of a call that already had an outcome (GoTrue retries), answered from it without sending, by that outcome.',
    labelNames: ['outcome'],
    registers,
  })
  const guardRefusals = new Counter({
    name: 'sms_hook_guard_refusals_total',
    help: 'Calls refused by the SMS-pumping guard, by rule.',
    labelNames: ['rule'],
    registers,
  })
  const breakers = new Gauge({
    name: 'sms_hook_circuit_breaker_open',
    help: "1 while a provider's circuit breaker is open, 0 otherwise (half open or closed).",
    labelNames: ['provider'],
    registers,
  })
  const storeErrors = new Counter({
    name: 'sms_hook_store_errors_total',
    help:
      'Refusals of the shared state (an error reply, not silence: 503 with nothing sent), by phase (claim, guard, record) and reason (oom, readonly, redirect, wrongtype, noperm, loading, busy, script, unreplicated, bad_reply, full, other).',
    labelNames: ['phase', 'reason'],
    registers,
  })
  const stateDown = new Counter({
    name: 'sms_hook_state_down_total',
    help: 'Calls that found the shared state unreachable, by step (idempotency, guard) and SMS_HOOK_STATE_DOWN policy: send (went on without it) or refuse.',
    labelNames: ['step', 'policy'],
    registers,
  })
  for (const outcome of ['sent', 'replayed']) hooks.inc({ outcome }, 0)
  // A delivery, the common event, counts through children made once: prom-client hashes a label set on every
  // call otherwise, which costs a hook more than the rest of its metrics together.
  const sentHooks = hooks.labels('sent')
  const sentBy = new Map<string, { deliveries: ReturnType<typeof deliveries.labels>; latency: ReturnType<typeof latency.labels> }>()
  const sentByProvider = (provider: string) => {
    let children = sentBy.get(provider)
    if (children === undefined) {
      children = { deliveries: deliveries.labels(provider, 'sent'), latency: latency.labels(provider, 'sent') }
      sentBy.set(provider, children)
    }
    return children
  }

  const observe: HookObserver = function countHookEvent(event) {
    switch (event.type) {
      case 'refused':
        hooks.inc({ outcome: event.refusal.code })
        return
      case 'replayed':
        hooks.inc({ outcome: 'replayed' })
        repeats.inc({ outcome: outcomeLabel(event.outcome) })
        return
      case 'delivered': {
        sentHooks.inc()
        const children = sentByProvider(event.provider)
        children.deliveries.inc()
        children.latency.observe(event.providerMs / 1000)
        return
      }
      case 'failed':
        hooks.inc({ outcome: event.outcome.code })
        return
      case 'late_outcome':
        lateOutcomes.inc({ provider: event.provider, outcome: outcomeLabel(event.outcome) })
        return
      case 'clock_untrusted':
        return
      case 'attempt_failed': {
        const labels = { provider: event.provider, outcome: failureLabel(event.error) }
        deliveries.inc(labels)
        latency.observe(labels, event.providerMs / 1000)
        return
      }
      case 'guard_refused':
        guardRefusals.inc({ rule: event.rule })
        return
      case 'state_down':
        stateDown.inc({ step: event.step, policy: event.policy })
        return
      case 'store_error':
        storeErrors.inc({ phase: event.phase, reason: storeErrorReason(event.error) })
        return
      case 'breaker':
        breakers.set({ provider: event.provider }, event.state === 'opened' ? 1 : 0)
    }
  }

  const { token } = options
  const handler: Handler = async function metrics(c) {
    if (token !== undefined && !isToken(bearerToken(c.req.header('authorization')), token)) {
      return c.json(errorBody(401, 'Unauthorized'), 401, { 'WWW-Authenticate': 'Bearer' })
    }
    return c.body(await registry.metrics(), 200, { 'Content-Type': registry.contentType })
  }

  return { registry, observe, handler }
}

const outcomeLabel = (outcome: Outcome) => (outcome.ok ? 'sent' : outcome.code)

const failureLabel = (error: unknown) => {
  if (isProviderError(error)) return error.kind
  return isDeadlineError(error) ? 'timeout' : 'unexpected'
}
