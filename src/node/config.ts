import { isIP } from 'node:net'
import { integer, text, type Env } from '../config/env.js'
import { ConfigError } from '../errors.js'

/** Where and how the Node server listens; Workers have no such settings. */
export interface ServerConfig {
  port: number
  host: string
  /** Connections held open at once; past it new ones are closed as they arrive. */
  maxConnections: number
}

export const DEFAULT_MAX_CONNECTIONS = 1024

/**
 * A host name: dot-separated labels of letters, digits, `-` (RFC 1123) and `_` (found in container names), so that
 * a URL or `host:port` stops start-up naming HOST. Whether the name resolves is learnt when listening.
 */
const LABEL = '[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?'
const HOSTNAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*\\.?$`)

export const parseServerConfig = (env: Env): ServerConfig => ({
  port: integer(env, 'PORT', { fallback: 8080, min: 0, max: 65535 }),
  host: host(env),
  maxConnections: integer(env, 'SMS_HOOK_MAX_CONNECTIONS', { fallback: DEFAULT_MAX_CONNECTIONS, min: 1, max: 1_000_000 }),
})

const host = (env: Env): string => {
  const value = text(env, 'HOST') ?? '0.0.0.0'
  if (isIP(value) === 0 && !HOSTNAME.test(value)) {
    throw new ConfigError('HOST', `must be an IP address or a host name such as 0.0.0.0, :: or localhost, got "${value}"`)
  }
  return value
}
