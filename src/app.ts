import { Hono, type Context } from 'hono'
import type { Clock } from './clock.js'
import type { Config } from './config.js'
import { MemoryInbox, type Inbox } from './dev/inbox.js'
import { inboxRoutes } from './dev/routes.js'
import { sendSmsHandler } from './hook/route.js'
import type { SignerFactory } from './hook/verify.js'
import type { Logger } from './log.js'
import { MESSAGES } from './outcome.js'
import type { AliyunTransportFactory } from './providers/aliyun/index.js'
import { createProvider } from './providers/index.js'
import type { Provider } from './providers/types.js'
import type { IdempotencyStore } from './store/types.js'

/** What the app needs from its runtime. Every entry point (Node, Workers, tests) supplies its own. */
export interface AppDeps {
  clock: Clock
  fetch: typeof fetch
  /** Shared across every instance that may see one hook call: memory (one process), Redis, Durable Object. */
  store: IdempotencyStore
  logger: Logger
  /** Built from `config.provider` when not given. */
  provider?: Provider
  /** The console provider's message list; memory when not given. */
  inbox?: Inbox
  /** The Alibaba Cloud SDK transport; only the Node entry passes it, so Workers never load the SDK. */
  aliyunSdkTransport?: AliyunTransportFactory
  /** Computes webhook signatures; the `standardwebhooks` library's when not given. Node passes its native HMAC. */
  signer?: SignerFactory
  /** The caller's address, where the runtime knows it (Node). */
  remoteAddress?: (c: Context) => string | undefined
}

/**
 * The sms-hook app: `POST /send-sms` (GoTrue's send-SMS hook), `GET /healthz`, and with the console provider
 * `GET /dev/inbox` and `/dev/inbox.json`.
 *
 * @example
 * const app = createApp(parseConfig(env), { clock: systemClock, fetch, store, logger })
 * export default app // or serve({ fetch: app.fetch })
 */
export const createApp = (config: Config, deps: AppDeps): Hono => {
  const { clock, logger, store } = deps
  const inbox = deps.inbox ?? new MemoryInbox()
  const provider =
    deps.provider ??
    createProvider(config.provider, {
      clock,
      fetch: deps.fetch,
      logger,
      inbox,
      ...(deps.aliyunSdkTransport ? { aliyunSdkTransport: deps.aliyunSdkTransport } : {}),
    })

  const app = new Hono()
  app.get('/healthz', (c) => c.json({ status: 'ok' }))
  app.post('/send-sms', sendSmsHandler(config, { clock, store, logger, provider, signer: deps.signer }))
  if (config.provider.name === 'console') {
    app.route('/dev', inboxRoutes({ inbox, mode: config.mode, remoteAddress: deps.remoteAddress }))
  }
  app.notFound((c) => c.json({ error: { http_code: 404, message: 'Not found' } }, 404))
  app.onError((error, c) => {
    logger.error('unhandled error', { error: `${error.name}: ${error.message}`, path: c.req.path })
    return c.json({ error: { http_code: 500, message: MESSAGES.internal } }, 500)
  })
  return app
}
