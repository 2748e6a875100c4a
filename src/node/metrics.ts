/**
 * Prometheus metrics of the Node server, fed by the hook's events: one more observer beside the JSON log. Node
 * only: prom-client needs Node, and nothing the Worker imports may import this module.
 */
import type { Handler } from 'hono'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import { isFinal } from '../delivery/types.js'
import { errorBody, isDeadlineError, isProviderError, storeErrorReason } from '../errors.js'
import { LIMIT_RULES } from '../guard/config.js'
import type { GuardRule } from '../guard/index.js'
import { deliverySeconds, type HookEvent, type HookObserver } from '../hook/events.js'
import type { Route } from '../hook/route.js'
import type { Outcome } from '../outcome.js'
import type { StateDownPolicy } from '../store/config.js'
import { bearerToken, isToken } from '../token.js'

export interface MetricsOptions {
  /** `GET /metrics` answers `Authorization: Bearer <token>` only. */
  token?: string | undefined
  /** The in-memory guard counters' figures (`MemoryRateCounters.stats`); absent with Redis. */
  guardKeys?: (() => { exact: number; max: number; sketched: number }) | undefined
  /**
   * The configured routes (`config.routing.routes`): every provider they name has a breaker sample from the
   * start (0, closed), and each route a count of the providers it may still use.
   */
  routes?: readonly Route[] | undefined
  /** SMS_HOOK_STATE_DOWN, so that `sms_hook_state_down_total` has its series at 0 before the state first fails. */
  stateDown?: StateDownPolicy | undefined
}

/**
 * Every `outcome` of `sms_hook_hooks_total` and `sms_hook_request_duration_seconds`: sent, replayed, and the
 * `code` of each refusal the hook answers (docs/operations.md explains each; a test holds this list, the codes in
 * the source and that page together). Each counts from 0 at start-up, so that a rate or an alert on the first
 * one of its kind sees it.
 */
export const HOOK_OUTCOMES = [
  'sent',
  'replayed',
  'unauthorized',
  'payload_too_large',
  'invalid_payload',
  'invalid_phone',
  'busy',
  'no_route',
  'country_not_allowed',
  'number_blocked',
  'too_many_requests',
  'recipient_invalid',
  'rate_limited',
  'unavailable',
  'configuration',
  'outcome_unknown',
  'in_progress',
  'store_unavailable',
  'state_unavailable',
] as const

const GUARD_RULES: readonly GuardRule[] = ['country_not_allowed', 'prefix_blocked', ...LIMIT_RULES]

/**
 * Every `status` of `sms_hook_receipts_total`: the final statuses a report moved a send to, and the reports that
 * moved none (`unmatched`: no kept send; `refused`: not taken). Each counts from 0 for every provider of the
 * routes, so that the delivered ratio and the alert on receipts that stop see the first report.
 */
export const RECEIPT_STATUSES = ['delivered', 'failed', 'expired', 'unmatched', 'refused'] as const

/** Every `phase` of `sms_hook_delivery_errors_total`, as the `delivery_error` event names them. */
export const DELIVERY_ERROR_PHASES = ['record', 'receipt', 'resend', 'reconcile'] as const satisfies readonly Extract<
  HookEvent,
  { type: 'delivery_error' }
>['phase'][]

/**
 * From the hand-off to the handset, as the receipts report it: most SMS arrive within seconds, a carrier that
 * queues takes minutes, and a handset off for the night past the last bucket (30 min) still counts in +Inf.
 */
const DELIVERY_BUCKETS = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800]

export interface Metrics {
  registry: Registry
  /** Counts what each hook event reports. */
  observe: HookObserver
  /** `GET /metrics` in Prometheus text format; with `token`, only for `Authorization: Bearer <token>`. */
  handler: Handler
}

/**
 * GoTrue gives up on a hook 5 s after it began: the buckets are fine where OTPs usually are (tens of ms) and
 * every second up to the budget, so a p99 creeping towards it shows before calls time out.
 */
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 4, 5]

/**
 * A registry of its own (several apps may live in one process, as in tests), with the hook's names under
 * `sms_hook_` and prom-client's default process and Node.js metrics under their standard names
 * (`process_cpu_seconds_total`, `nodejs_eventloop_lag_seconds`...), which stock Node.js dashboards expect.
 *
 * @example
 * const metrics = createMetrics({ token: config.metrics.token, routes: config.routing.routes })
 * const app = createApp(config, { ...deps, observers: [metrics.observe], metrics: metrics.handler })
 */
export const createMetrics = (options: MetricsOptions = {}): Metrics => {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
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
  const requests = new Histogram({
    name: 'sms_hook_request_duration_seconds',
    help: "How long the hook took to answer a call, from its arrival, by the outcome it answered (as sms_hook_hooks_total): the figure to hold against GoTrue's 5 s.",
    labelNames: ['outcome'],
    buckets: REQUEST_BUCKETS,
    registers,
  })
  const breakers = new Gauge({
    name: 'sms_hook_circuit_breaker_open',
    help: "1 while a provider's circuit breaker is not closed (open: skipped; half open: one probe may try it), 0 when closed.",
    labelNames: ['provider'],
    registers,
  })
  const routes = options.routes ?? []
  // Whether each provider's breaker is closed, as the breaker events say; every breaker starts closed.
  const closed = new Map<string, boolean>()
  for (const route of routes) for (const provider of route.providers) closed.set(provider, true)
  new Gauge({
    name: 'sms_hook_route_providers_available',
    help: 'Providers of a route (by SMS_HOOK_ROUTES prefix, * for the rest) whose breaker is closed; at 0 every one of them is failing, and the route tries its last provider anyway.',
    labelNames: ['route'],
    registers,
    collect() {
      for (const route of routes) {
        this.set({ route: route.prefix }, route.providers.filter((provider) => closed.get(provider) === true).length)
      }
    },
  })
  const storeErrors = new Counter({
    name: 'sms_hook_store_errors_total',
    help: 'Refusals of the shared state (an error reply, not silence: 503 with nothing sent), by phase (claim, guard, record) and reason (oom, readonly, redirect, wrongtype, noperm, loading, busy, script, unreplicated, bad_reply, full, other).',
    labelNames: ['phase', 'reason'],
    registers,
  })
  const stateDown = new Counter({
    name: 'sms_hook_state_down_total',
    help: 'Calls that found the shared state unreachable, by step (idempotency, guard) and SMS_HOOK_STATE_DOWN policy: send (went on without it) or refuse.',
    labelNames: ['step', 'policy'],
    registers,
  })
  const receipts = new Counter({
    name: 'sms_hook_receipts_total',
    help: 'Delivery reports read, from a vendor push or a reconciliation, by provider and status: the final status a report moved a send to (delivered, failed, expired), unmatched (no kept send) or refused (a bad signature or a malformed report). Repeats and intermediate statuses are not counted.',
    labelNames: ['provider', 'status'],
    registers,
  })
  const deliverySecondsHistogram = new Histogram({
    name: 'sms_hook_delivery_seconds',
    help: 'From the hand-off to the vendor to the handset, as the delivery report says, by provider: once per send reported delivered.',
    labelNames: ['provider'],
    buckets: DELIVERY_BUCKETS,
    registers,
  })
  const finalStatuses = new Counter({
    name: 'sms_hook_delivery_statuses_total',
    help: "Sends that reached a final status (delivered, failed, expired), by provider and the number's calling code (country): the delivered ratio per provider and country.",
    labelNames: ['provider', 'country', 'status'],
    registers,
  })
  const rotations = new Counter({
    name: 'sms_hook_resend_rotations_total',
    help: 'Resends (a code asked for again within SMS_HOOK_RESEND_WINDOW, the last one not known delivered) that tried another provider first: from the provider of the last send, to the one tried first.',
    labelNames: ['from', 'to'],
    registers,
  })
  const deliveryErrors = new Counter({
    name: 'sms_hook_delivery_errors_total',
    help: 'Failures of the delivery records, by phase: record (a send), receipt (applying a report), resend (reading the last send), reconcile.',
    labelNames: ['phase'],
    registers,
  })
  for (const outcome of HOOK_OUTCOMES) hooks.inc({ outcome }, 0)
  for (const provider of closed.keys()) {
    for (const status of RECEIPT_STATUSES) receipts.inc({ provider, status }, 0)
    // Buckets at 0 from the start: rate() sees the first delivery of a provider, not only the second.
    deliverySecondsHistogram.zero({ provider })
  }
  for (const route of routes) {
    // A rotation goes between two providers of one route: each ordered pair of its providers.
    for (const from of route.providers) {
      for (const to of route.providers) if (from !== to) rotations.inc({ from, to }, 0)
    }
  }
  for (const phase of DELIVERY_ERROR_PHASES) deliveryErrors.inc({ phase }, 0)
  // Latency buckets for the two answers every hook gives, not thirteen series for each refusal.
  for (const outcome of ['sent', 'replayed']) requests.zero({ outcome })
  for (const provider of closed.keys()) breakers.set({ provider }, 0)
  for (const rule of GUARD_RULES) guardRefusals.inc({ rule }, 0)
  if (options.stateDown !== undefined) {
    for (const step of ['idempotency', 'guard']) stateDown.inc({ step, policy: options.stateDown }, 0)
  }
  // A delivery, the common event, counts through children made once: prom-client hashes a label set on every
  // call otherwise, which costs a hook more than the rest of its metrics together.
  const sentHooks = hooks.labels('sent')
  const sentRequests = requests.labels('sent')
  const sentBy = new Map<
    string,
    { deliveries: ReturnType<typeof deliveries.labels>; latency: ReturnType<typeof latency.labels> }
  >()
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
        requests.observe({ outcome: event.refusal.code }, event.durationMs / 1000)
        return
      case 'replayed':
        hooks.inc({ outcome: 'replayed' })
        requests.observe({ outcome: 'replayed' }, event.durationMs / 1000)
        repeats.inc({ outcome: outcomeLabel(event.outcome) })
        return
      case 'delivered': {
        sentHooks.inc()
        sentRequests.observe(event.durationMs / 1000)
        const children = sentByProvider(event.provider)
        children.deliveries.inc()
        children.latency.observe(event.providerMs / 1000)
        return
      }
      case 'failed':
        hooks.inc({ outcome: event.outcome.code })
        requests.observe({ outcome: event.outcome.code }, event.durationMs / 1000)
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
        closed.set(event.provider, event.state === 'closed')
        breakers.set({ provider: event.provider }, event.state === 'closed' ? 0 : 1)
        return
      case 'resend_rotated':
        rotations.inc({ from: event.from, to: event.to })
        return
      case 'delivery_error':
        deliveryErrors.inc({ phase: event.phase })
        return
      case 'receipt':
        countReceipt(event)
    }
  }

  /**
   * A report counts once, when it settles a send (a repeat, a status behind the kept one, or an intermediate one
   * like `sent` does not), or when it moved nothing at all (`unmatched`, `refused`).
   */
  const countReceipt = (event: Extract<HookEvent, { type: 'receipt' }>) => {
    const { status, record } = event
    if (status === 'unmatched' || status === 'refused') {
      receipts.inc({ provider: event.provider, status })
      return
    }
    if (!event.changed || !isFinal(status)) return
    receipts.inc({ provider: event.provider, status })
    if (record === undefined) return
    finalStatuses.inc({ provider: record.provider, country: record.country, status })
    if (status === 'delivered' && record.deliveredAt !== undefined) {
      deliverySecondsHistogram.observe({ provider: record.provider }, deliverySeconds(record))
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
