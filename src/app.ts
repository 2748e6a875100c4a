import { Hono } from 'hono/tiny'
import type { Context, Handler } from 'hono'
import type { Clock } from './clock.js'
import type { Config } from './config/index.js'
import { inboxRoutes, servesInbox } from './dev/routes.js'
import { errorBody, isRequestAbortedError, isStoreError } from './errors.js'
import { createGuard } from './guard/index.js'
import { logObserver, observeAll, type HookObserver } from './hook/events.js'
import { sendSmsHandler } from './hook/handler.js'
import type { HeaderSource, SignerFactory } from './hook/verify.js'
import { clip, type Logger } from './log.js'
import { MESSAGES } from './outcome.js'
import type { Provider } from './providers/types.js'
import type { IdempotencyStore, RateCounters } from './store/types.js'
import { deliveryRoutes, servesLookup } from './delivery/lookup.js'
import { createNumberKey, createNumberSeal, numberKeyMaterial, type NumberKey } from './delivery/number-key.js'
import type { DeliveryStore } from './delivery/types.js'
import { createDeliveryTracking } from './hook/deliveries.js'
import { receiptVendors } from './receipts/index.js'
import { receiptRoutes } from './receipts/routes.js'

/** What the app needs from its runtime. Every entry point (Node, Workers, tests) builds its own. */
export interface AppDeps {
  clock: Clock
  /** Shared across every instance that may see one hook call: memory (one process), Redis, Durable Object. */
  store: IdempotencyStore
  /** The SMS-pumping guard's counters, shared like `store`. */
  counters: RateCounters
  /**
   * The delivery records (receipts, lookup, resend rotation), shared like `store`; none are kept without it
   * (SMS_HOOK_RECEIPTS=off).
   */
  deliveries?: DeliveryStore
  /** The destination numbers' keyed hash (`delivery/number-key.ts`); derived from the configuration when not given. */
  numberKey?: NumberKey
  /** Seals a number for reconciliation (`delivery/number-key.ts`); the deployment's own seal when not given. */
  seal?: (e164: string) => Promise<string>
  /**
   * Resolves when the shared state answers, rejects with the reason otherwise (`/readyz`); always ready when not
   * given (memory on one process, Durable Objects).
   */
  ready?: () => Promise<void>
  /** Serves `GET /metrics` when given (Node, unless the metrics have a port of their own). */
  metrics?: Handler
  logger: Logger
  /**
   * Every provider `config.routing` names, built by the entry point (`buildProviders`), keyed by name; the
   * routes decide which of them sends to a number.
   */
  providers: Readonly<Record<string, Provider>>
  /** Who hears about each hook call besides the JSON log (metrics, tests). */
  observers?: readonly HookObserver[]
  /** Computes webhook signatures; the `standardwebhooks` library's when not given. Node passes its native HMAC. */
  signer?: SignerFactory
  /** The caller's address, where the runtime knows it (Node; Cloudflare's edge). */
  remoteAddress?: (c: Context) => string | undefined
  /** When the request arrived, where the runtime records it (Node): each hook's deadline counts from then. */
  arrivedAt?: (c: Context) => number | undefined
  /** The request's headers as the runtime already has them (Node), cheaper than a `Headers` object. */
  headers?: (c: Context) => HeaderSource
  /**
   * Keeps work that goes on after the answer alive: a provider call still at work at the deadline runs on and
   * its outcome is recorded. Workers pass `ctx.waitUntil`; Node's process keeps it alive by itself.
   */
  waitUntil?: (c: Context, work: Promise<void>) => void
}

/**
 * The sms-hook app: `POST /send-sms` (GoTrue's send-SMS hook; any other method 405), `GET /healthz` (alive), `GET /readyz` (the
 * shared state answers), `GET /metrics` when the entry point serves metrics here, and, when a provider keeps an
 * inbox (the console provider), the inbox routes under `/dev` (in production only with `SMS_HOOK_INBOX_TOKEN`), and the
 * support lookup `GET /deliveries` with `SMS_HOOK_ADMIN_TOKEN` and delivery records. It only mounts routes: the entry
 * points build everything that depends on the runtime.
 *
 * @example
 * const app = createApp(config, { clock: systemClock, store, counters, logger, providers: buildProviders(config.routing.providers, deps) })
 * export default app // or serve({ fetch: app.fetch })
 */
export const createApp = (config: Config, deps: AppDeps): Hono => {
  const { logger, providers } = deps
  const observe = observeAll([logObserver(logger), ...(deps.observers ?? [])])
  // One material for the number's hash and its seal, as the reconciler derives it (delivery/reconcile.ts).
  const material = numberKeyMaterial(config.delivery.adminToken, config.hook.secrets)
  const numberKey = deps.numberKey ?? createNumberKey(material)

  const app = new Hono()
  app.get('/healthz', (c) => c.json({ status: 'ok' }))
  app.get('/readyz', readyz(deps.ready))
  if (deps.metrics) app.get('/metrics', deps.metrics)
  app.post(
    '/send-sms',
    sendSmsHandler(config.hook, config.message, config.routing, {
      ...deps,
      guard: createGuard(config.guard, deps.counters),
      stateDown: config.state.stateDown,
      localState: deps.store.local === true && deps.counters.local === true,
      observe,
      numberKey,
      tracking:
        deps.deliveries && config.delivery.enabled
          ? createDeliveryTracking({
              config: config.delivery,
              deliveries: deps.deliveries,
              clock: deps.clock,
              providers,
              seal: deps.seal ?? createNumberSeal(material).seal,
            })
          : undefined,
    }),
  )
  // GoTrue only POSTs. Any other method is someone trying the URL by hand: 405 tells them the path is right,
  // where a 404 would send them looking for another.
  app.all('/send-sms', (c) => c.json(errorBody(405, 'Method not allowed'), 405, { Allow: 'POST' }))
  const inbox = Object.values(providers).find((p) => p.inbox !== undefined)?.inbox
  if (inbox && servesInbox(config.mode, config.inbox)) {
    app.route(
      '/dev',
      inboxRoutes({
        inbox,
        mode: config.mode,
        config: config.inbox,
        remoteAddress: deps.remoteAddress,
        counters: deps.counters,
      }),
    )
  }
  if (servesLookup(config, deps.deliveries)) {
    app.route('/deliveries', deliveryRoutes({ config, deliveries: deps.deliveries, numberKey }))
  }
  if (deps.deliveries && config.delivery.enabled) {
    const { clock, deliveries, waitUntil } = deps
    const vendors = receiptVendors(config)
    app.route('/receipts', receiptRoutes({ config: config.delivery, vendors, deliveries, clock, observe, waitUntil }))
  }
  app.notFound((c) => c.json(errorBody(404, 'Not found'), 404))
  app.onError((error, c) => {
    if (isRequestAbortedError(error)) {
      // The client's doing (it left, or was cut off for sending too slowly): one line, and nobody reads the answer.
      const fields = { path: clip(c.req.path), remote_address: clip(deps.remoteAddress?.(c)) }
      logger.warn('request body incomplete: the connection closed', fields)
      return c.json(errorBody(400, MESSAGES.invalidPayload), 400)
    }
    logger.error('unhandled error', { error: `${error.name}: ${error.message}`, path: clip(c.req.path) })
    return c.json(errorBody(500, MESSAGES.internal), 500)
  })
  return app
}

/**
 * `GET /readyz`: 200 once the configuration was read (an app exists only then) and the shared state takes a
 * write; 503 otherwise, so a load balancer sends GoTrue's calls to replicas that can de-duplicate them. The
 * answer says only which of two things is wrong, in fixed words: anyone may ask, and the cause (host names,
 * the server's own message) is for the log, where the entry point writes it.
 */
const readyz = (ready: (() => Promise<void>) | undefined) =>
  async function readyz(c: Context) {
    try {
      await ready?.()
      return c.json({ status: 'ready' })
    } catch (error) {
      return c.json({ status: 'not_ready', reason: isStoreError(error) ? REFUSING_WRITES : NOT_ANSWERING }, 503)
    }
  }

const NOT_ANSWERING = 'shared state not answering'
const REFUSING_WRITES = 'shared state refusing writes'
