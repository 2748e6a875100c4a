/**
 * The Node entry's reading of its environment: the shared configuration and the server's own settings in one
 * pass, so that every mistake of a start-up is reported at once, and the one-line summary that start-up logs and
 * `sms-hook check` prints. Never a secret in it: only names, hosts and limits.
 */
import type { Env } from '../config/env.js'
import { parseConfig, type Config } from '../config/index.js'
import { collectErrors, formatDuration, get, isSet } from '../config/settings.js'
import { PROVIDERS } from '../providers/registry.js'
import { LIMIT_RULES } from '../guard/config.js'
import { parseRedisUrl } from '../store/redis-url.js'
import { parseServerConfig, SERVER_SETTINGS, type ServerConfig } from './config.js'

export interface NodeConfiguration {
  config: Config
  server: ServerConfig
}

/** Both sections; throws a `ConfigErrors` with every error of both. */
export const readConfiguration = (env: Env): NodeConfiguration =>
  collectErrors(env, (section) => {
    const config = section(() => parseConfig(env, { runtime: [SERVER_SETTINGS] }))
    const server = section(() => parseServerConfig(env))
    return { config: config!, server: server! }
  })

/** Where the shared state lives, as an operator would name it; a Redis URL without its credentials. */
const stateOf = (config: Config): string => {
  if (!config.state.redis) return 'memory (this process only)'
  const target = parseRedisUrl(config.state.redis.url)
  const hosts = 'nodes' in target ? target.nodes : 'sentinels' in target ? target.sentinels : [target]
  const where = hosts.map((h) => `${h.host}:${h.port}`).join(',')
  const durable = config.state.redis.durable === 'wait' ? ', writes wait for a replica' : ''
  return `redis ${target.kind} ${where}${'name' in target ? `/${target.name}` : ''}${durable}`
}

/**
 * The endpoint overrides of the providers in use, as their tables read them (an origin): an unused provider's is
 * a note of its own, and was never parsed.
 */
const endpointsOf = (env: Env, config: Config): string[] => {
  const used = new Set(config.routing.providers.map((provider) => provider.name))
  return PROVIDERS.filter((definition) => used.has(definition.name)).flatMap(({ settings }) =>
    Object.keys(settings)
      .filter((name) => name.endsWith('_ENDPOINT') && isSet(env, name))
      .map((name) => `${name}=${String(get(env, settings, name))}`),
  )
}

/** Which vendor pushes what it needs (docs/receipts.md): a token path, the public URL, or both. */
const RECEIPTS_NEED: Record<string, { token: boolean; publicUrl: boolean }> = {
  aliyun: { token: true, publicUrl: false },
  tencent: { token: true, publicUrl: false },
  twilio: { token: false, publicUrl: true },
  vonage: { token: true, publicUrl: true },
  messagebird: { token: true, publicUrl: true },
}

/** Delivery records and, per provider in use, whether its receipts can arrive, or the setting they lack. */
const receiptsOf = (config: Config): string => {
  const { delivery } = config
  if (!delivery.enabled) return 'off'
  const vendors = config.routing.providers.flatMap(({ name }) => {
    const need = RECEIPTS_NEED[name]
    if (need === undefined) return []
    const missing = [
      ...(need.token && delivery.receiptsToken === undefined ? ['SMS_HOOK_RECEIPTS_TOKEN'] : []),
      ...(need.publicUrl && delivery.publicUrl === undefined ? ['SMS_HOOK_PUBLIC_URL'] : []),
    ]
    return [missing.length ? `${name} (needs ${missing.join(' and ')})` : name]
  })
  return [
    `on, kept ${formatDuration(delivery.ttlMs)}`,
    `receipts=${vendors.join(',') || 'none'}`,
    `resend_rotate=${delivery.resendRotate ? `on/${formatDuration(delivery.resendWindowMs)}` : 'off'}`,
    `lookup=${delivery.adminToken ? 'on' : 'off'}`,
  ].join(' ')
}

/**
 * What this configuration does, one field per concern: the providers per route, the endpoint overrides, the state,
 * the guard's limits, the Aliyun test route, and every setting that is set but ignored, with why.
 */
export const summarize = (env: Env, { config, server }: NodeConfiguration): Record<string, unknown> => {
  const aliyun = config.routing.providers.find((p) => p.name === 'aliyun')?.settings as { route?: string } | undefined
  const limits = LIMIT_RULES.map((rule) => {
    const limit = config.guard.limits[rule]
    return `${rule}=${limit ? `${limit.max}/${formatDuration(limit.windowMs)}` : 'off'}`
  })
  return {
    mode: config.mode,
    routes: config.routing.routes.map((route) => `${route.prefix}=${route.providers.join(',')}`).join(';'),
    endpoints: endpointsOf(env, config).join(' ') || 'vendor defaults',
    state: stateOf(config),
    state_down: config.state.stateDown,
    guard: [
      ...limits,
      `countries=${config.guard.allowedCountries ? [...config.guard.allowedCountries].join(',') : 'any'}`,
      `blocked=${config.guard.blockedPrefixes.join(',') || 'none'}`,
    ].join(' '),
    aliyun_test_route:
      aliyun?.route === 'test' ? 'on: SendSmsVerifyCode, the system test signature and template' : 'off',
    deliveries: receiptsOf(config),
    timeout: formatDuration(config.hook.timeoutMs),
    secrets: config.hook.secrets.length,
    listen: `${server.host}:${server.port}`,
    ignored: config.notes.map((note) => `${note.variable} (${note.reason})`).join('; ') || 'none',
  }
}
