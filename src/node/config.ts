import { integer, text, type Env } from '../config/env.js'

/** Where and how the Node server listens; Workers have no such settings. */
export interface ServerConfig {
  port: number
  host: string
  /** Connections held open at once; past it new ones are closed as they arrive. */
  maxConnections: number
}

export const DEFAULT_MAX_CONNECTIONS = 1024

export const parseServerConfig = (env: Env): ServerConfig => ({
  port: integer(env, 'PORT', { fallback: 8080, min: 0, max: 65535 }),
  host: text(env, 'HOST') ?? '0.0.0.0',
  maxConnections: integer(env, 'SMS_HOOK_MAX_CONNECTIONS', { fallback: DEFAULT_MAX_CONNECTIONS, min: 1, max: 1_000_000 }),
})
