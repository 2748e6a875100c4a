import { serve, type ServerType } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import { Hono, type Handler } from 'hono'
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
import { createNodeState } from './state.js'

export interface NodeServer {
  server: ServerType
  /** `http://host:port` as actually bound (port 0 picks a free one). */
  url: string
  /** Where `GET /metrics` is served when SMS_HOOK_METRICS_PORT gives it a port of its own. */
  metricsUrl: string | undefined
  /** Stops accepting connections, lets in-flight hooks finish, closes the shared state, then resolves. */
  close(): Promise<void>
}

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
      [config.provider],
      { clock, fetch: overrides.fetch ?? globalThis.fetch, logger },
      await nodeProviderDefinitions([config.provider]),
    )
  const state = createNodeState(config.state, { clock, logger })
  const metrics = createMetrics({ token: listen.metrics.token })
  const ownMetricsPort = listen.metrics.port !== undefined
  const app = createApp(config, {
    clock,
    store: state.store,
    counters: state.counters,
    ready: state.ready,
    signer: nodeSigner,
    remoteAddress: (c) => getConnInfo(c).remote.address,
    ...overrides,
    observers: [metrics.observe, ...(overrides.observers ?? [])],
    metrics: ownMetricsPort ? undefined : metrics.handler,
    logger,
    providers,
  })
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: listen.port, hostname: listen.host }, () => resolve(s))
    s.once('error', reject)
  }).catch(async (error: unknown) => {
    await state.close()
    throw error
  })
  const { port } = server.address() as AddressInfo
  const host = listen.host === '0.0.0.0' || listen.host === '::' ? '127.0.0.1' : listen.host
  const urlOf = (port: number) => `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  const closeServer = (server: ServerType) =>
    new Promise<void>((resolve, reject) => {
      // Since Node 19, close() also drops idle keep-alive connections; busy ones end after their response.
      server.close((error) => (error ? reject(error) : resolve()))
    })
  const metricsServer = ownMetricsPort
    ? await serveMetrics(metrics.handler, listen.host, listen.metrics.port!).catch(async (error: unknown) => {
        await Promise.allSettled([closeServer(server), state.close()])
        throw error
      })
    : undefined
  return {
    server,
    url: urlOf(port),
    metricsUrl: metricsServer && urlOf((metricsServer.address() as AddressInfo).port),
    close: async () => {
      try {
        await Promise.all([closeServer(server), ...(metricsServer ? [closeServer(metricsServer)] : [])])
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
