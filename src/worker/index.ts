/**
 * The Cloudflare Workers entry: the one place that reads the bindings (`wrangler.toml` vars and secrets).
 *
 * A Worker has no start-up at which to refuse a bad setting, so it is always in production mode and a missing
 * or wrong setting splits the routes as a Node replica that is up but not ready does: `/healthz` answers 200 (the
 * isolate is alive, so a restart would not help), `/readyz` and every other route 503, and each such answer logs
 * the reason (`wrangler tail` shows it next to the failing call).
 *
 * The shared state is in Durable Objects: the idempotency store, the guard's counters and the delivery records.
 * Redis is for Node (ioredis needs TCP sockets), so REDIS_URL is refused here rather than silently ignored.
 */
import type { Context } from 'hono'
import { createApp } from '../app.js'
import { systemClock } from '../clock.js'
import type { Env } from '../config/env.js'
import { parseConfig } from '../config/index.js'
import { eachError } from '../config/settings.js'
import { ConfigError, errorBody, isConfigError } from '../errors.js'
import { receiptUrls } from '../delivery/urls.js'
import { createJsonLogger } from '../log.js'
import { reconcilerFor, type Reconciler } from '../delivery/reconcile.js'
import { logObserver } from '../hook/events.js'
import { MESSAGES } from '../outcome.js'
import { buildProviders, definitionOf } from '../providers/registry.js'
import { DurableObjectRateCounters, type CounterObject } from './counter-object.js'
import { DurableObjectDeliveryStore, type DeliveryObject } from './delivery-object.js'
import { DurableObjectInbox, type InboxObject } from './inbox-object.js'
import { DurableObjectIdempotencyStore, type IdempotencyObject } from './store-object.js'

export { CounterObject } from './counter-object.js'
export { DeliveryObject } from './delivery-object.js'
export { InboxObject } from './inbox-object.js'
export { IdempotencyObject } from './store-object.js'

/** What `wrangler.toml` binds: settings as strings, and the Durable Object namespaces. */
export interface Bindings {
  IDEMPOTENCY?: DurableObjectNamespace<IdempotencyObject>
  INBOX?: DurableObjectNamespace<InboxObject>
  COUNTERS?: DurableObjectNamespace<CounterObject>
  DELIVERIES?: DurableObjectNamespace<DeliveryObject>
  [setting: string]: unknown
}

type Handler = (request: Request, env: Bindings, ctx: ExecutionContext) => Response | Promise<Response>

/**
 * One app per isolate and bindings object: the bindings do not change while an isolate lives, and parsing them
 * (secrets decoded, provider built) on every request would be wasted work.
 */
const handlers = new WeakMap<Bindings, Handler>()
/** The reconciler `build` made for the same bindings, when there is anything to reconcile. */
const reconcilers = new WeakMap<Bindings, Reconciler>()

const handlerOf = (env: Bindings): Handler => {
  let handler = handlers.get(env)
  if (handler === undefined) {
    handler = build(env)
    handlers.set(env, handler)
  }
  return handler
}

export default {
  fetch(request, env, ctx) {
    return handlerOf(env)(request, env, ctx)
  },
  // The cron of wrangler.toml ([triggers]): unknown outcomes asked about at the vendor (delivery/reconcile.ts).
  scheduled(_controller, env, ctx) {
    handlerOf(env)
    const reconciler = reconcilers.get(env)
    if (reconciler) ctx.waitUntil(reconciler.run().then(() => undefined))
  },
} satisfies ExportedHandler<Bindings>

const build = (bindings: Bindings): Handler => {
  try {
    const config = parseConfig(settingsOf(bindings))
    if (config.state.redis) {
      throw new ConfigError('REDIS_URL', 'is for Node: a Worker keeps its shared state in Durable Objects; remove it')
    }
    const store = new DurableObjectIdempotencyStore(namespace(bindings, 'IDEMPOTENCY', 'IdempotencyObject'))
    const counters = new DurableObjectRateCounters(namespace(bindings, 'COUNTERS', 'CounterObject'))
    const logger = createJsonLogger({ level: config.logLevel })
    // Settings that are set but do nothing, once per isolate: what `wrangler tail` should show a deployer.
    for (const note of config.notes) logger.warn(`${note.variable}: ${note.reason}`, { variable: note.variable })
    // The console provider's inbox is shared by every isolate; a Worker that sends real SMS needs no binding.
    const inbox = config.routing.providers.some((provider) => definitionOf(provider.name).usesInbox)
      ? new DurableObjectInbox(namespace(bindings, 'INBOX', 'InboxObject'))
      : undefined
    // Only with SMS_HOOK_RECEIPTS on: a Worker that keeps no delivery records needs no binding for them.
    const deliveries = config.delivery.enabled
      ? new DurableObjectDeliveryStore(namespace(bindings, 'DELIVERIES', 'DeliveryObject'))
      : undefined
    const providers = buildProviders(config.routing.providers, {
      clock: systemClock,
      // Bound: the runtime's fetch refuses to run with another `this`.
      fetch: fetch.bind(globalThis),
      logger,
      receiptUrl: receiptUrls(config.delivery),
      ...(inbox ? { inbox } : {}),
    })
    // The store the app records sends in is the one reconciled.
    const reconciler = reconcilerFor(config, {
      deliveries,
      providers,
      clock: systemClock,
      observe: logObserver(logger),
    })
    if (reconciler) reconcilers.set(bindings, reconciler)
    const app = createApp(config, {
      clock: systemClock,
      store,
      counters,
      ...(deliveries ? { deliveries } : {}),
      logger,
      providers,
      // Set by Cloudflare's edge from the connection, never taken from the client; loopback under `wrangler dev`.
      remoteAddress: (c: Context) => c.req.header('cf-connecting-ip'),
      // A provider call that outlives the answer, and the recording of its outcome, end after the response.
      waitUntil: (c: Context, work: Promise<void>) => c.executionCtx.waitUntil(work),
    })
    return (request, env, ctx) => app.fetch(request, env, ctx)
  } catch (error) {
    if (!isConfigError(error)) throw error
    return misconfigured(error)
  }
}

/**
 * The answers of a Worker whose settings do not parse. 503 rather than 500: GoTrue reads both as "the hook failed"
 * (docs/gotrue-contract.md), and 503 is what a load balancer or uptime check takes for "not serving", as `/readyz`
 * says. The bodies name no value: the reason, which may quote a setting, goes to the log only.
 */
const misconfigured = (error: ConfigError): Handler => {
  // LOG_LEVEL itself may be the bad setting.
  const logger = createJsonLogger({ level: 'info' })
  // One log line per problem (parseConfig reports every one at once), each searchable by its variable.
  const reasons = eachError(error)
  const variables = [...new Set(reasons.map((reason) => reason.variable))].join(', ')
  return function misconfigured(request) {
    const { pathname } = new URL(request.url)
    if (pathname === '/healthz') return Response.json({ status: 'ok' })
    for (const { variable, message } of reasons) logger.error(`invalid configuration: ${message}`, { variable })
    if (pathname === '/readyz') {
      return Response.json({ status: 'not_ready', reason: `invalid configuration: ${variables}` }, { status: 503 })
    }
    // No retry-after: GoTrue would retry at once, into the same settings.
    return Response.json(errorBody(503, MESSAGES.configuration), { status: 503 })
  }
}

/** The string bindings as the settings record `parseConfig` reads, always in production mode. */
const settingsOf = (bindings: Bindings): Env => {
  const env: Env = {}
  for (const [name, value] of Object.entries(bindings)) if (typeof value === 'string') env[name] = value
  env.NODE_ENV = 'production'
  return env
}

const namespace = <T extends Rpc.DurableObjectBranded>(
  bindings: Bindings,
  name: 'IDEMPOTENCY' | 'INBOX' | 'COUNTERS' | 'DELIVERIES',
  className: string,
): DurableObjectNamespace<T> => {
  const value = bindings[name] as { getByName?: unknown } | undefined
  if (typeof value?.getByName !== 'function') {
    throw new ConfigError(name, `must be a Durable Object binding to the ${className} class (see wrangler.toml)`)
  }
  return value as unknown as DurableObjectNamespace<T>
}
