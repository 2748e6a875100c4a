import { serve, type ServerType } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import type { AddressInfo } from 'node:net'
import { createApp, type AppDeps } from '../app.js'
import { systemClock } from '../clock.js'
import type { Config } from '../config/index.js'
import { createJsonLogger } from '../log.js'
import { buildProviders } from '../providers/registry.js'
import type { ServerConfig } from './config.js'
import { nodeProviderDefinitions } from './providers.js'
import { nodeSigner } from './signer.js'
import { createNodeState } from './state.js'

export interface NodeServer {
  server: ServerType
  /** `http://host:port` as actually bound (port 0 picks a free one). */
  url: string
  /** Stops accepting connections, lets in-flight hooks finish, closes the shared state, then resolves. */
  close(): Promise<void>
}

/** What a test may replace; `fetch` is what providers call vendors with. */
export type NodeOverrides = Partial<AppDeps> & { fetch?: typeof fetch }

/**
 * Serves the app on Node with the dependencies of a process: system clock, global fetch, the shared state (Redis
 * with REDIS_URL, memory otherwise), a JSON logger on stdout, and the providers as Node defines them. Tests pass `overrides`.
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
  const app = createApp(config, {
    clock,
    store: state.store,
    counters: state.counters,
    ready: state.ready,
    signer: nodeSigner,
    remoteAddress: (c) => getConnInfo(c).remote.address,
    ...overrides,
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
  return {
    server,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: async () => {
      try {
        await new Promise<void>((resolve, reject) => {
          // Since Node 19, close() also drops idle keep-alive connections; busy ones end after their response.
          server.close((error) => (error ? reject(error) : resolve()))
        })
      } finally {
        await state.close()
      }
    },
  }
}
