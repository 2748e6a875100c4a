import { serve, type ServerType } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import type { Context, Handler } from 'hono'
import { Hono } from 'hono/tiny'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createApp, type AppDeps } from '../app.js'
import { systemClock } from '../clock.js'
import type { Config } from '../config/index.js'
import { errorBody } from '../errors.js'
import { createJsonLogger } from '../log.js'
import { buildProviders } from '../providers/registry.js'
import type { ServerConfig } from './config.js'
import { createMetrics } from './metrics.js'
import { nodeProviderDefinitions } from './providers.js'
import { nodeSigner } from './signer.js'
import type { HeaderSource } from '../hook/verify.js'
import { createNodeState } from './state.js'

export interface NodeServer {
  server: Server
  /** `http://host:port` as actually bound (port 0 picks a free one). */
  url: string
  /** Where `GET /metrics` is served when SMS_HOOK_METRICS_PORT gives it a port of its own. */
  metricsUrl: string | undefined
  /**
   * Stops accepting connections and lets in-flight hooks finish; resolves when every connection is closed and
   * the shared state too. Idle keep-alive connections close at once, busy ones after their response; any still
   * open after the request timeout (SMS_HOOK_TIMEOUT_MS + 1 s: a client still sending, or a stuck one) are
   * closed then.
   */
  close(): Promise<void>
}

/**
 * GoTrue writes each request at once and gives up 5 s after it began: a request whose headers and body are still
 * arriving this long after SMS_HOOK_TIMEOUT_MS is a slow or hostile client, answered 408 by Node and closed.
 */
export const REQUEST_GRACE_MS = 1000

/** How often Node looks for requests past their timeout (30 s by default, which would let them run 30 s over). */
const CONNECTIONS_CHECKING_INTERVAL_MS = 250

/**
 * How long an idle keep-alive connection stays open. Longer than the idle timeout of the proxies and load
 * balancers that may sit in front of the hook (60 s for AWS ALB and nginx): if the hook closed first, a proxy
 * could send GoTrue's next call on a connection that is being closed and answer 502 for it. Go's client, GoTrue
 * itself, keeps idle connections 90 s but notices a close before reusing one. Idle connections count towards
 * SMS_HOOK_MAX_CONNECTIONS, and shutdown closes them at once.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000

/** What a test may replace; `fetch` is what providers call vendors with. */
export type NodeOverrides = Partial<AppDeps> & { fetch?: typeof fetch }

/**
 * Serves the app on Node with the dependencies of a process: system clock, global fetch, the shared state (Redis
 * with REDIS_URL, memory otherwise), a JSON logger on stdout, Prometheus metrics, and the providers as Node
 * defines them. Tests pass `overrides`.
 */
export const startNodeServer = async (
  config: Config,
  listen: ServerConfig,
  overrides: NodeOverrides = {},
): Promise<NodeServer> => {
  const clock = overrides.clock ?? systemClock
  const logger = overrides.logger ?? createJsonLogger({ level: config.logLevel })
  const providers =
    overrides.providers ??
    buildProviders(
      config.routing.providers,
      { clock, fetch: overrides.fetch ?? globalThis.fetch, logger },
      await nodeProviderDefinitions(config.routing.providers),
    )
  const state = createNodeState(config.state, { clock, logger })
  // When each request arrived, stamped as Node reads it, before the app's turn: under load the handler may run
  // much later, and GoTrue's 5 s started with the request, not with the handler.
  const arrivals = new WeakMap<IncomingMessage, number>()
  const metrics = createMetrics({ token: listen.metrics.token, guardKeys: state.guardKeys })
  const ownMetricsPort = listen.metrics.port !== undefined
  const app = createApp(config, {
    clock,
    store: state.store,
    counters: state.counters,
    ready: state.ready,
    signer: nodeSigner,
    remoteAddress: (c) => getConnInfo(c).remote.address,
    arrivedAt: (c) => arrivals.get(incomingOf(c)),
    headers: (c) => nodeHeaders(incomingOf(c)),
    ...overrides,
    observers: [metrics.observe, ...(overrides.observers ?? [])],
    metrics: ownMetricsPort ? undefined : metrics.handler,
    logger,
    providers,
  })
  const requestTimeout = config.hook.timeoutMs + REQUEST_GRACE_MS

  // Responses being worked on, so that shutdown can end their connections with them. Node's close() drops the
  // connections idle at that moment, but a keep-alive connection that becomes idle later would stay open for
  // KEEP_ALIVE_TIMEOUT_MS and hold the process.
  const responses = new Set<ServerResponse>()
  let closing = false
  const endWithResponse = (res: ServerResponse) => {
    if (!res.headersSent) res.setHeader('connection', 'close')
  }

  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve(
      {
        fetch: app.fetch,
        port: listen.port,
        hostname: listen.host,
        serverOptions: {
          requestTimeout,
          headersTimeout: requestTimeout,
          connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS,
          keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
        },
      },
      () => resolve(s),
    ) as Server // node:http, as no other createServer is passed
    // Before the first request: serve() only starts listening. Ahead of the app's listener, which may answer at once.
    s.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
      arrivals.set(req, clock.now())
      if (closing) endWithResponse(res)
      responses.add(res)
      res.once('close', () => {
        responses.delete(res)
        // A response whose headers were already out when shutdown began leaves an idle connection behind.
        if (closing) s.closeIdleConnections()
      })
    })
    // Set before the first connection, likewise.
    s.maxConnections = listen.maxConnections
    // A closed socket no longer knows its peer unless it was asked before: ask as each connection arrives, so that
    // the log line about a client that left mid-request still says who it was.
    s.on('connection', (socket) => void socket.remoteAddress)
    s.once('error', reject)
  }).catch(async (error: unknown) => {
    await state.close()
    throw error
  })
  const { port } = server.address() as AddressInfo
  const host = listen.host === '0.0.0.0' || listen.host === '::' ? '127.0.0.1' : listen.host
  const urlOf = (port: number) => `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  const closeMain = () =>
    new Promise<void>((resolve, reject) => {
      closing = true
      for (const res of responses) endWithResponse(res)
      // Past the request timeout, an honest request has arrived and its hook has answered: what is left is a
      // client still sending or something stuck. Node stops enforcing request timeouts once closing.
      const rest = setTimeout(() => server.closeAllConnections(), requestTimeout)
      rest.unref()
      server.close((error) => {
        clearTimeout(rest)
        if (error) reject(error)
        else resolve()
      })
    })
  const metricsServer = ownMetricsPort
    ? await serveMetrics(metrics.handler, listen.host, listen.metrics.port!).catch(async (error: unknown) => {
        await Promise.allSettled([closeMain(), state.close()])
        throw error
      })
    : undefined
  return {
    server,
    url: urlOf(port),
    metricsUrl: metricsServer && urlOf((metricsServer.address() as AddressInfo).port),
    close: async () => {
      try {
        await Promise.all([closeMain(), ...(metricsServer ? [closeMetrics(metricsServer)] : [])])
      } finally {
        await state.close()
      }
    },
  }
}

/** `GET /metrics` alone on a port of its own (SMS_HOOK_METRICS_PORT), which a firewall can keep internal. */
const serveMetrics = (handler: Handler, hostname: string, port: number) => {
  const app = new Hono().get('/metrics', handler)
  app.notFound((c) => c.json(errorBody(404, 'Not found'), 404))
  return new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port, hostname }, () => resolve(s))
    s.once('error', reject)
  })
}

/** A scrape is short: Node's close() ends the idle connections and lets a scrape in progress finish. */
const closeMetrics = (server: ServerType) =>
  new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())))

const incomingOf = (c: Context) => (c.env as { incoming: IncomingMessage }).incoming

/**
 * Node's own parsed headers (names in lower case, repeated ones joined with ", " as `Headers` joins them), read
 * in place: @hono/node-server would otherwise build a `Headers` object for each request the hook reads.
 */
const nodeHeaders = (incoming: IncomingMessage): HeaderSource => ({
  get(name) {
    const value = incoming.headers[name]
    return Array.isArray(value) ? value.join(', ') : value
  },
})
