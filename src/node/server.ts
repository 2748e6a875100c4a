import { serve, type ServerType } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import type { Context, Handler } from 'hono'
import { Hono } from 'hono/tiny'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { createApp, type AppDeps } from '../app.js'
import { systemClock } from '../clock.js'
import type { Config } from '../config/index.js'
import { errorBody } from '../errors.js'
import { receiptUrls } from '../delivery/urls.js'
import { createJsonLogger } from '../log.js'
import { buildProviders } from '../providers/registry.js'
import type { ServerConfig } from './config.js'
import { createMetrics } from './metrics.js'
import { nodeProviderDefinitions } from './providers.js'
import { nodeSigner } from './signer.js'
import type { HeaderSource } from '../hook/verify.js'
import { createNodeState } from './state.js'
import { reconcilerFor, RECONCILE_EVERY_MS } from '../delivery/reconcile.js'
import { logObserver, observeAll } from '../hook/events.js'

export interface NodeServer {
  server: Server
  /** `http://host:port` as actually bound (port 0 picks a free one). */
  url: string
  /**
   * Where `GET /metrics` is served: `${url}/metrics`, or on a port of its own; undefined when nowhere, because
   * the production default port was taken.
   */
  metricsUrl: string | undefined
  /**
   * `url` and `metricsUrl` with the address each socket really bound (`http://0.0.0.0:9464/metrics` for all
   * interfaces, where `url` says 127.0.0.1 so that this machine can call it), for the start-up line.
   */
  bound: { url: string; metricsUrl: string | undefined }
  /**
   * Stops accepting connections and lets in-flight hooks finish; resolves when every connection is closed and
   * the shared state too. Idle keep-alive connections close at once, busy ones after their response; any still
   * open after the request timeout (SMS_HOOK_TIMEOUT + 1 s: a client still sending, or a stuck one) are
   * closed then.
   */
  close(): Promise<void>
}

/**
 * GoTrue writes each request at once and gives up 5 s after it began: a request whose headers and body are still
 * arriving this long after SMS_HOOK_TIMEOUT is a slow or hostile client, answered 408 by Node and closed.
 */
export const REQUEST_GRACE_MS = 1000

/** How often Node looks for requests past their timeout (30 s by default, which would let them run 30 s over). */
const CONNECTIONS_CHECKING_INTERVAL_MS = 250

/**
 * How long an idle keep-alive connection stays open. Longer than the idle timeout of the proxies and load
 * balancers that may sit in front of the hook (60 s for AWS ALB and nginx): if the hook closed first, a proxy
 * could send GoTrue's next call on a connection that is being closed and answer 502 for it. Go's client, GoTrue
 * itself, keeps idle connections 90 s but notices a close before reusing one. Idle connections count towards
 * SMS_HOOK_MAX_CONNECTIONS until a new connection needs the place (the one idle longest is closed), and shutdown
 * closes them at once.
 */
const KEEP_ALIVE_TIMEOUT_MS = 65_000

/**
 * Where production serves `GET /metrics` when neither SMS_HOOK_METRICS_PORT nor SMS_HOOK_METRICS_TOKEN is set:
 * never on the public port without a token. The port of OpenTelemetry's Prometheus exporter, which scrape
 * configurations often already name.
 */
export const DEFAULT_METRICS_PORT = 9464

/**
 * What a test may replace; `fetch` is what providers call vendors with, `defaultMetricsPort` stands in for
 * DEFAULT_METRICS_PORT (0 for a free one, or a port the test holds).
 */
export type NodeOverrides = Partial<AppDeps> & { fetch?: typeof fetch; defaultMetricsPort?: number }

/** Binding SMS_HOOK_METRICS_PORT failed; `cause` is Node's error, whose `code` says why. */
class MetricsListenError extends Error {
  override readonly name = 'MetricsListenError'
  constructor(
    readonly port: number,
    options: { cause: unknown },
  ) {
    super(`SMS_HOOK_METRICS_PORT: cannot listen on ${port}`, options)
  }
}

/** By name rather than `instanceof`, as the project's other error guards. */
export const isMetricsListenError = (error: unknown): error is MetricsListenError =>
  (error as { name?: unknown } | null)?.name === 'MetricsListenError'

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
      { clock, fetch: overrides.fetch ?? globalThis.fetch, logger, receiptUrl: receiptUrls(config.delivery) },
      await nodeProviderDefinitions(config.routing.providers),
    )
  const state = createNodeState(config.state, { clock, logger })
  // When each request arrived, stamped as Node reads it, before the app's turn: under load the handler may run
  // much later, and GoTrue's 5 s started with the request, not with the handler.
  const arrivals = new WeakMap<IncomingMessage, number>()
  const metrics = createMetrics({
    token: listen.metrics.token,
    guardKeys: state.guardKeys,
    routes: config.routing.routes,
    stateDown: config.state.stateDown,
  })
  const metricsPort = metricsPortOf(config, listen, overrides.defaultMetricsPort ?? DEFAULT_METRICS_PORT)
  const ownMetricsPort = metricsPort !== undefined
  const app = createApp(config, {
    clock,
    store: state.store,
    counters: state.counters,
    ...(config.delivery.enabled ? { deliveries: state.deliveries } : {}),
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
          // Node counts it from the connection's opening until a first request's headers are in: a connection that
          // sends nothing is answered 408 and closed then too, a few seconds after it opened.
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
    capConnections(s, listen.maxConnections)
    s.once('error', reject)
  }).catch(async (error: unknown) => {
    await state.close()
    throw error
  })
  const { port, address } = server.address() as AddressInfo
  const host = listen.host === '0.0.0.0' || listen.host === '::' ? '127.0.0.1' : listen.host
  const urlOf = (port: number, at = host) => `http://${at.includes(':') ? `[${at}]` : at}:${port}`
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
  const metricsServer =
    metricsPort === undefined
      ? undefined
      : await serveMetrics(metrics.handler, listen.host, metricsPort.port).catch(async (error: unknown) => {
          if (!metricsPort.explicit) {
            // Several hooks on one host cannot all have the default: the first keeps it, the others run without
            // metrics rather than not at all, and say how to give them some.
            logger.warn(
              `metrics are not served: port ${metricsPort.port}, where production serves them without ` +
                'SMS_HOOK_METRICS_TOKEN, cannot be bound; set SMS_HOOK_METRICS_PORT to a free port, or ' +
                'SMS_HOOK_METRICS_TOKEN to serve them on the main port',
              { port: metricsPort.port, host: listen.host, code: String((error as { code?: unknown } | null)?.code) },
            )
            return undefined
          }
          await Promise.allSettled([closeMain(), state.close()])
          throw new MetricsListenError(metricsPort.port, { cause: error })
        })
  const metricsAt = ownMetricsPort ? (metricsServer?.address() as AddressInfo | undefined) : { port, address }
  // Unknown outcomes asked about at the vendor (delivery/reconcile.ts); a run still going makes the next tick a no-op.
  const reconciler = reconcilerFor(config, {
    deliveries: overrides.deliveries ?? (config.delivery.enabled ? state.deliveries : undefined),
    providers,
    clock,
    observe: observeAll([logObserver(logger), metrics.observe, ...(overrides.observers ?? [])]),
  })
  const reconciling = reconciler && setInterval(() => void reconciler.run(), RECONCILE_EVERY_MS).unref()
  return {
    server,
    url: urlOf(port),
    metricsUrl: metricsAt && `${urlOf(metricsAt.port)}/metrics`,
    bound: {
      url: urlOf(port, address),
      metricsUrl: metricsAt && `${urlOf(metricsAt.port, metricsAt.address)}/metrics`,
    },
    close: async () => {
      clearInterval(reconciling)
      try {
        await Promise.all([closeMain(), ...(metricsServer ? [closeMetrics(metricsServer)] : []), reconciler?.idle()])
      } finally {
        await state.close()
      }
    },
  }
}

/**
 * Where `GET /metrics` gets a port of its own, undefined for the main port: SMS_HOOK_METRICS_PORT when set
 * (`explicit`: failing to bind it stops start-up); in production without SMS_HOOK_METRICS_TOKEN, `fallback`,
 * since the main port is the public one and the metrics name providers, error rates and the guard's pressure.
 */
const metricsPortOf = (config: Config, listen: ServerConfig, fallback: number) => {
  if (listen.metrics.port !== undefined) return { port: listen.metrics.port, explicit: true }
  if (config.mode === 'production' && listen.metrics.token === undefined) return { port: fallback, explicit: false }
  return undefined
}

/**
 * Holds at most `max` connections. At the cap a new connection closes the one idle longest (no request in
 * progress: between two requests, or none sent yet) instead of being refused, so that connections a client
 * merely keeps open (a keep-alive ping every 30 s, or nothing at all) cannot lock GoTrue out. Only when every
 * connection has a request in progress is the new one closed as it arrives; those end by the request timeout.
 * Node's own `maxConnections` would refuse the newcomer whatever the others are doing.
 */
const capConnections = (server: Server, max: number) => {
  // Requests in progress on each open connection; pipelined requests may overlap on one.
  const open = new Map<Socket, number>()
  // Those with none, oldest idle first: a Set keeps insertion order, and a connection idle again goes last.
  const idle = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    if (open.size >= max) {
      const oldest = idle.values().next()
      if (oldest.done) return void socket.destroy()
      forget(oldest.value)
      oldest.value.destroy()
    }
    open.set(socket, 0)
    idle.add(socket)
    socket.once('close', () => forget(socket))
    // A closed socket no longer knows its peer unless it was asked before: ask as each connection arrives, so
    // that the log line about a client that left mid-request still says who it was.
    void socket.remoteAddress
  })
  const forget = (socket: Socket) => {
    open.delete(socket)
    idle.delete(socket)
  }
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket
    const inProgress = open.get(socket)
    if (inProgress === undefined) return
    open.set(socket, inProgress + 1)
    idle.delete(socket)
    res.once('close', () => {
      const left = open.get(socket)
      if (left === undefined) return // the connection closed first
      open.set(socket, left - 1)
      if (left === 1 && !socket.destroyed) idle.add(socket)
    })
  })
}

/** `GET /metrics` alone on a port of its own, which a firewall can keep internal. */
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
