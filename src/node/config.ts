import { isIP } from 'node:net'
import { integer, text, token, type Env } from '../config/env.js'
import { ConfigError } from '../errors.js'
import { parseRedisUrl } from '../store/redis-url.js'

/** Where and how the Node server listens; Workers have no such settings. */
export interface ServerConfig {
  port: number
  host: string
  /**
   * Connections held open at once; past it a new one closes the one idle longest, or is closed as it arrives
   * when every connection has a request in progress.
   */
  maxConnections: number
  metrics: MetricsConfig
}

/**
 * `GET /metrics` (Prometheus), as set: on the main port unless it has one of its own, behind a token when one is
 * set. In production without either, the server gives it a port of its own (DEFAULT_METRICS_PORT).
 */
export interface MetricsConfig {
  /** `SMS_HOOK_METRICS_PORT`: served only there, on the same HOST, when set; failing to bind it stops start-up. */
  port: number | undefined
  /** `SMS_HOOK_METRICS_TOKEN`: required as `Authorization: Bearer <token>` when set. */
  token: string | undefined
}

export const DEFAULT_MAX_CONNECTIONS = 1024

/**
 * A host name: dot-separated labels of letters, digits, `-` (RFC 1123) and `_` (found in container names), so that
 * a URL or `host:port` stops start-up naming HOST. Whether the name resolves is learnt when listening.
 */
const LABEL = '[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?'
const HOSTNAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*\\.?$`)

export const parseServerConfig = (env: Env): ServerConfig => {
  // REDIS_URL is Node's alone (a Worker refuses it outright), so it is read here and its parser stays out of the
  // Worker bundle; a malformed one stops start-up like every other setting.
  const redisUrl = text(env, 'REDIS_URL')
  if (redisUrl !== undefined) parseRedisUrl(redisUrl)
  const port = integer(env, 'PORT', { fallback: 8080, min: 0, max: 65535 })
  return {
    port,
    host: host(env),
    maxConnections: integer(env, 'SMS_HOOK_MAX_CONNECTIONS', { fallback: DEFAULT_MAX_CONNECTIONS, min: 1, max: 1_000_000 }),
    metrics: parseMetricsConfig(env, port),
  }
}

const host = (env: Env): string => {
  const value = text(env, 'HOST') ?? '0.0.0.0'
  if (isIP(value) === 0 && !HOSTNAME.test(value)) {
    throw new ConfigError('HOST', `must be an IP address or a host name such as 0.0.0.0, :: or localhost, got "${value}"`)
  }
  return value
}

const parseMetricsConfig = (env: Env, mainPort: number): MetricsConfig => {
  const port =
    text(env, 'SMS_HOOK_METRICS_PORT') === undefined
      ? undefined
      : integer(env, 'SMS_HOOK_METRICS_PORT', { fallback: 0, min: 0, max: 65535 })
  // Port 0 picks a free port, never the main one.
  if (port !== undefined && port !== 0 && port === mainPort) {
    throw new ConfigError('SMS_HOOK_METRICS_PORT', 'must differ from PORT')
  }
  return { port, token: token(env, 'SMS_HOOK_METRICS_TOKEN') }
}
