import { serve, type ServerType } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import type { AddressInfo } from 'node:net'
import { createApp, type AppDeps } from '../app.js'
import { systemClock } from '../clock.js'
import type { Config } from '../config.js'
import { createJsonLogger } from '../log.js'
import { MemoryIdempotencyStore } from '../store/memory.js'
import { nodeSigner } from './signer.js'

export interface NodeServer {
  server: ServerType
  /** `http://host:port` as actually bound (port 0 picks a free one). */
  url: string
  /** Stops accepting connections, lets in-flight hooks finish, then resolves. */
  close(): Promise<void>
}

/**
 * Serves the app on Node with the dependencies a single process has: system clock, global fetch, an in-memory
 * idempotency store and a JSON logger on stdout. Tests pass `overrides` to inject fakes.
 */
export const startNodeServer = async (config: Config, overrides: Partial<AppDeps> = {}): Promise<NodeServer> => {
  const clock = overrides.clock ?? systemClock
  // The SDK is loaded only when chosen (GOTRUE_SMS_ALIYUN_TRANSPORT=sdk, the Node default): it takes ~0.6 s to load.
  const aliyunSdkTransport =
    config.provider.name === 'aliyun' && config.provider.transport === 'sdk'
      ? (await import('../providers/aliyun/sdk-transport.js')).createSdkTransport
      : undefined
  const deps: AppDeps = {
    ...(aliyunSdkTransport ? { aliyunSdkTransport } : {}),
    clock,
    fetch: globalThis.fetch,
    store: new MemoryIdempotencyStore({ clock, maxKeys: config.idempotencyMaxKeys }),
    logger: createJsonLogger({ level: config.logLevel }),
    signer: nodeSigner,
    remoteAddress: (c) => getConnInfo(c).remote.address,
    ...overrides,
  }
  const app = createApp(config, deps)
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => resolve(s))
    s.once('error', reject)
  })
  const { port } = server.address() as AddressInfo
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host
  return {
    server,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        // Since Node 19, close() also drops idle keep-alive connections; busy ones end after their response.
        server.close((error) => (error ? reject(error) : resolve()))
      }),
  }
}
