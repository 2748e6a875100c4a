/**
 * Routing by number prefix: which providers, in which order, may send to a number (`SMS_HOOK_ROUTES`).
 *
 * `86=aliyun,tencent;852,853=aliyun,twilio;*=twilio,vonage`: rules separated by `;`, each a list of prefixes
 * (digits an E.164 number starts with: a calling code such as `44`, or longer, such as `4478`) and the
 * providers to try for them, in order. The longest matching prefix wins; `*` takes every number no other rule
 * matches. Without a `*` rule such a number has no route. Unset, every number goes to `GOTRUE_SMS_PROVIDER`.
 */
import type { Mode } from '../config/index.js'
import type { Env } from '../config/env.js'
import {
  anyText,
  boolean,
  collectErrors,
  eachError,
  get,
  isSet,
  type SettingDocs,
  type Settings,
} from '../config/settings.js'
import { ConfigError, isConfigError } from '../errors.js'
import { E164_PREFIX } from '../phone/e164.js'
import { parseProviderConfig, PROVIDERS, type ProviderConfig } from '../providers/registry.js'
import type { Provider, ProviderDefinition } from '../providers/types.js'
import { parseBreakerConfig, type BreakerConfig } from './breaker.js'

/** One prefix and its providers. */
export interface Route {
  /** Digits an E.164 number starts with, or `*` for every number no other route matches. */
  prefix: string
  /** Provider names, in the order they are tried. */
  providers: readonly string[]
}

/** Where each number goes, and how the hook moves from one provider to the next. */
export interface RoutingConfig {
  /** From `SMS_HOOK_ROUTES`; unset, one `*` route to `GOTRUE_SMS_PROVIDER`. */
  routes: readonly Route[]
  /** Every provider the routes name, once each, with its settings: what the entry points build. */
  providers: readonly ProviderConfig[]
  /**
   * `SMS_HOOK_FAILOVER_ON_TIMEOUT`: fail over after a provider's own `outcome_unknown` answer (a cut
   * connection), at the risk of a second SMS when the first one did leave.
   */
  failoverOnTimeout: boolean
  breaker: BreakerConfig
}

const VARIABLE = 'SMS_HOOK_ROUTES'

export const ROUTING_SETTINGS = {
  SMS_HOOK_ROUTES: { parse: anyText },
  SMS_HOOK_FAILOVER_ON_TIMEOUT: { parse: boolean, default: 'false' },
} as const satisfies Settings

export const ROUTING_SETTING_DOCS: SettingDocs<typeof ROUTING_SETTINGS> = {
  SMS_HOOK_ROUTES:
    'Providers per number prefix, in the order tried: 86=aliyun,tencent;*=twilio. Unset, every number goes to GOTRUE_SMS_PROVIDER.',
  SMS_HOOK_FAILOVER_ON_TIMEOUT:
    'Fail over after a provider lost the connection mid-call, at the risk of a second SMS when the first did leave.',
}

/**
 * Reads `SMS_HOOK_ROUTES` (or, unset, `GOTRUE_SMS_PROVIDER`), the settings of every provider it names, and
 * the failover settings. Throws a `ConfigError` naming `SMS_HOOK_ROUTES` and the rule for a malformed rule, a
 * prefix routed twice, an unknown provider, or a provider whose settings are missing or wrong.
 */
export const parseRoutingConfig = (
  env: Env,
  mode: Mode,
  definitions: readonly ProviderDefinition[] = PROVIDERS,
): RoutingConfig => {
  const value = get(env, ROUTING_SETTINGS, VARIABLE)
  const failover = {
    failoverOnTimeout: get(env, ROUTING_SETTINGS, 'SMS_HOOK_FAILOVER_ON_TIMEOUT'),
    breaker: parseBreakerConfig(env),
  }
  if (value === undefined) {
    const provider = parseProviderConfig(env, mode, definitions)
    return { routes: [{ prefix: '*', providers: [provider.name] }], providers: [provider], ...failover }
  }
  return { ...parseRoutes(value, env, definitions), ...failover }
}

/**
 * Parses the rules of `SMS_HOOK_ROUTES` and the settings of each provider they name (read from `env` once,
 * in the order the providers first appear).
 *
 * @example
 * parseRoutes('86=aliyun,tencent;*=twilio', env).routes
 * // [{ prefix: '86', providers: ['aliyun', 'tencent'] }, { prefix: '*', providers: ['twilio'] }]
 */
const parseRoutes = (
  value: string,
  env: Env,
  definitions: readonly ProviderDefinition[] = PROVIDERS,
): Pick<RoutingConfig, 'routes' | 'providers'> => {
  const routes: Route[] = []
  const providers = new Map<string, ProviderConfig>()
  /** Which rule routes each prefix, by index. */
  const ruleOf = new Map<string, number>()
  const rules = value
    .split(';')
    .map((rule) => rule.trim())
    .filter((rule) => rule !== '')
  if (rules.length === 0) throw new ConfigError(VARIABLE, 'has no rule; write it as 86=aliyun,tencent;*=twilio')

  for (const [index, rule] of rules.entries()) {
    const refuse = (detail: string) => new ConfigError(VARIABLE, `rule "${rule}": ${detail}`)
    const equals = rule.indexOf('=')
    if (equals < 0) throw refuse('must be <prefixes>=<providers>, such as 86=aliyun,tencent')
    const prefixes = rule
      .slice(0, equals)
      .split(',')
      .map((p) => p.trim().replace(/^\+/, ''))
    const names = rule
      .slice(equals + 1)
      .split(',')
      .map((n) => n.trim().toLowerCase())

    for (const prefix of prefixes) {
      if (prefix !== '*' && !E164_PREFIX.test(prefix)) {
        throw refuse(`"${prefix}" is not a prefix: the first digits of an E.164 number (no leading 0), or *`)
      }
      const earlier = ruleOf.get(prefix)
      if (earlier !== undefined) {
        throw refuse(
          earlier === index ? `names ${prefix} twice` : `${prefix} is routed already by rule "${rules[earlier]}"`,
        )
      }
      ruleOf.set(prefix, index)
    }
    if (names.some((name) => name === ''))
      throw refuse('needs a provider name between every two commas, and at least one')
    const repeated = names.find((name, i) => names.indexOf(name) !== i)
    if (repeated !== undefined) throw refuse(`names ${repeated} twice`)

    for (const name of names) {
      if (providers.has(name)) continue
      const definition = definitions.find((d) => d.name === name)
      if (definition === undefined) {
        throw refuse(`unknown provider "${name}" (one of: ${definitions.map((d) => d.name).join(', ')})`)
      }
      providers.set(name, { name, settings: parseSettings(definition, env, refuse) })
    }
    for (const prefix of prefixes) routes.push({ prefix, providers: names })
  }
  return { routes, providers: [...providers.values()] }
}

/**
 * A provider's settings; every mistake in them, for the rule that named it, in one error:
 * "textlocal needs GOTRUE_SMS_TEXTLOCAL_API_KEY and GOTRUE_SMS_TEXTLOCAL_SENDER".
 */
const parseSettings = (definition: ProviderDefinition, env: Env, refuse: (detail: string) => ConfigError): unknown => {
  try {
    return collectErrors(env, () => definition.parse(env))
  } catch (error) {
    if (!isConfigError(error)) throw error
    const errors = eachError(error)
    const missing = errors.filter((e) => !isSet(env, e.variable)).map((e) => e.variable)
    const wrong = errors.filter((e) => isSet(env, e.variable)).map((e) => e.message)
    throw refuse(
      [...(missing.length > 0 ? [`${definition.name} needs ${missing.join(' and ')}`] : []), ...wrong].join('; '),
    )
  }
}

/** Finds a number's providers. */
export interface Router {
  /** The providers for `e164` (E.164 digits), in the order they are tried; undefined when no route matches. */
  routeFor(e164: string): readonly Provider[] | undefined
}

/**
 * A router over `routes` with the built `providers`, keyed by name. Throws when a route names a provider that
 * was not built: the entry point built fewer than the configuration lists.
 *
 * @example
 * const router = createRouter(config.routing.routes, { aliyun, tencent, twilio })
 * router.routeFor('8613800138000') // [aliyun, tencent]
 */
export const createRouter = (routes: readonly Route[], providers: Readonly<Record<string, Provider>>): Router => {
  const byPrefix = new Map<string, readonly Provider[]>()
  let rest: readonly Provider[] | undefined
  let longest = 0
  for (const route of routes) {
    const list = route.providers.map((name) => {
      const provider = Object.hasOwn(providers, name) ? providers[name] : undefined
      if (provider === undefined) throw new Error(`no provider "${name}" was built for the route ${route.prefix}`)
      return provider
    })
    if (route.prefix === '*') {
      rest = list
    } else {
      byPrefix.set(route.prefix, list)
      longest = Math.max(longest, route.prefix.length)
    }
  }
  return {
    routeFor(e164) {
      for (let length = Math.min(longest, e164.length); length > 0; length--) {
        const found = byPrefix.get(e164.slice(0, length))
        if (found !== undefined) return found
      }
      return rest
    },
  }
}
