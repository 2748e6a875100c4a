import { isIP } from 'node:net'
import type { Env } from '../config/env.js'
import { get, integer, isSet, token, type SettingDocs, type Settings } from '../config/settings.js'
import { ConfigError } from '../errors.js'
import { STATE_SETTINGS } from '../store/config.js'
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

const LABEL = '[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?'
const HOSTNAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*\\.?$`)

/**
 * A host name: dot-separated labels of letters, digits, `-` (RFC 1123) and `_` (found in container names), so that
 * a URL or `host:port` stops start-up naming HOST. Whether the name resolves is learnt when listening.
 */
const parseHost = (value: string, name: string): string => {
  if (isIP(value) === 0 && !HOSTNAME.test(value)) {
    throw new ConfigError(name, `must be an IP address or a host name such as 0.0.0.0, :: or localhost, got "${value}"`)
  }
  return value
}

const port = integer({ min: 0, max: 65535 })

/** The Node server's own settings; a Worker has none of these. */
export const SERVER_SETTINGS = {
  PORT: { parse: port, default: '8080' },
  HOST: { parse: parseHost, default: '0.0.0.0' },
  SMS_HOOK_MAX_CONNECTIONS: { parse: integer({ min: 1, max: 1_000_000 }), default: String(DEFAULT_MAX_CONNECTIONS) },
  SMS_HOOK_METRICS_PORT: { parse: port },
  SMS_HOOK_METRICS_TOKEN: { parse: token(), secret: true },
} as const satisfies Settings

export const SERVER_SETTING_DOCS: SettingDocs<typeof SERVER_SETTINGS> = {
  PORT: 'Port of the hook (Node); 0 picks a free one.',
  HOST: 'Address to listen on (Node): 0.0.0.0 for every IPv4 interface, :: for IPv6 too, 127.0.0.1 for this machine only.',
  SMS_HOOK_MAX_CONNECTIONS: 'Connections held open at once (Node); past it a new one closes the one idle longest.',
  SMS_HOOK_METRICS_PORT:
    'Port of GET /metrics alone (Node); in production without it or a token, metrics get port 9464.',
  SMS_HOOK_METRICS_TOKEN: 'Bearer token GET /metrics requires (Node), at least 16 characters.',
}

export const parseServerConfig = (env: Env): ServerConfig => {
  // REDIS_URL is Node's alone (a Worker refuses it outright), so its form is checked here and its parser stays
  // out of the Worker bundle; a malformed one stops start-up like every other setting.
  const redisUrl = get(env, STATE_SETTINGS, 'REDIS_URL')
  if (redisUrl !== undefined) parseRedisUrl(redisUrl)
  const mainPort = get(env, SERVER_SETTINGS, 'PORT')
  return {
    port: mainPort,
    host: get(env, SERVER_SETTINGS, 'HOST'),
    maxConnections: get(env, SERVER_SETTINGS, 'SMS_HOOK_MAX_CONNECTIONS'),
    metrics: parseMetricsConfig(env, mainPort),
  }
}

const parseMetricsConfig = (env: Env, mainPort: number): MetricsConfig => {
  const metricsPort = isSet(env, 'SMS_HOOK_METRICS_PORT')
    ? get(env, SERVER_SETTINGS, 'SMS_HOOK_METRICS_PORT')
    : undefined
  // Port 0 picks a free port, never the main one.
  if (metricsPort !== undefined && metricsPort !== 0 && metricsPort === mainPort) {
    throw new ConfigError('SMS_HOOK_METRICS_PORT', 'must differ from PORT')
  }
  return { port: metricsPort, token: get(env, SERVER_SETTINGS, 'SMS_HOOK_METRICS_TOKEN') }
}
