import { integer, text, type Env } from '../config/env.js'
import { ConfigError } from '../errors.js'

/** Where the Node server listens; Workers have no such setting. */
export interface ServerConfig {
  port: number
  host: string
  metrics: MetricsConfig
}

/** `GET /metrics` (Prometheus): on the main port unless it has one of its own, behind a token when one is set. */
export interface MetricsConfig {
  /** `SMS_HOOK_METRICS_PORT`: served only there, on the same HOST, when set. */
  port: number | undefined
  /** `SMS_HOOK_METRICS_TOKEN`: required as `Authorization: Bearer <token>` when set. */
  token: string | undefined
}

export const parseServerConfig = (env: Env): ServerConfig => {
  const port = integer(env, 'PORT', { fallback: 8080, min: 0, max: 65535 })
  return { port, host: text(env, 'HOST') ?? '0.0.0.0', metrics: parseMetricsConfig(env, port) }
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
  const token = text(env, 'SMS_HOOK_METRICS_TOKEN')
  if (token !== undefined && (token.length < 16 || /\s/.test(token))) {
    throw new ConfigError('SMS_HOOK_METRICS_TOKEN', 'must be at least 16 characters without spaces (e.g. openssl rand -hex 16)')
  }
  return { port, token }
}
