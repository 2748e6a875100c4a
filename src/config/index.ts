/**
 * The whole configuration, in sections each parsed by the module that owns it. Built once by `parseConfig`;
 * the app never reads the environment itself.
 */
import { DELIVERY_SETTINGS, parseDeliveryConfig, type DeliveryConfig } from '../delivery/config.js'
import { INBOX_SETTINGS, parseInboxConfig, type InboxConfig } from '../dev/routes.js'
import { ConfigError } from '../errors.js'
import { GUARD_SETTINGS, parseGuardConfig, type GuardConfig } from '../guard/config.js'
import { BREAKER_SETTINGS } from '../hook/breaker.js'
import { HOOK_SETTINGS, parseHookConfig, type HookConfig } from '../hook/config.js'
import { parseRoutingConfig, ROUTING_SETTINGS, type RoutingConfig } from '../hook/route.js'
import { LOG_LEVELS, type LogLevel } from '../log.js'
import { MESSAGE_SETTINGS, messageConfigFor, parseMessageConfig, type MessageConfig } from '../message/build.js'
import { anySendsAbroad, PROVIDERS, REGISTRY_SETTINGS } from '../providers/registry.js'
import { parseStateConfig, STATE_SETTINGS, type StateConfig } from '../store/config.js'
import type { Env } from './env.js'
import { unknownSettings } from './names.js'
import { collectErrors, get, isSet, oneOf, type Setting, type SettingDocs, type Settings } from './settings.js'

export type { Env } from './env.js'

export type Mode = 'production' | 'development'

export interface Config {
  mode: Mode
  logLevel: LogLevel
  hook: HookConfig
  message: MessageConfig
  state: StateConfig
  guard: GuardConfig
  /** Where each number goes (`SMS_HOOK_ROUTES`, else `GOTRUE_SMS_PROVIDER`), every provider used, and failover. */
  routing: RoutingConfig
  inbox: InboxConfig
  /** Delivery records, receipts, resend rotation and the support lookup (docs/receipts.md). */
  delivery: DeliveryConfig
  /** Settings that are set but have no effect, each with its reason; in development, unknown ones too. */
  notes: readonly Note[]
}

export const CORE_SETTINGS = {
  NODE_ENV: { parse: (value, name) => parseModeValue(value, name), default: 'production' },
  LOG_LEVEL: { parse: oneOf(LOG_LEVELS), default: 'info' },
} as const satisfies Settings

export const CORE_SETTING_DOCS: SettingDocs<typeof CORE_SETTINGS> = {
  NODE_ENV:
    'production (also when unset), or development / test: the console provider by default, a dev secret, the inbox, no velocity limits.',
  LOG_LEVEL: 'debug, info, warn or error.',
}

/**
 * Production unless development is asked for: `NODE_ENV=development` or `test` (`npm run dev` and `--dev` set
 * it). A service started under systemd, pm2 or Kubernetes with no NODE_ENV must not print OTPs instead of
 * sending them, so an unset NODE_ENV is production and a value that is neither (a typo such as `prod`) stops
 * start-up rather than be guessed.
 */
const parseModeValue = (value: string, name: string): Mode => {
  if (value === 'production') return 'production'
  if (value === 'development' || value === 'test') return 'development'
  throw new ConfigError(name, `must be production, development or test, got "${value}"`)
}

export const parseMode = (env: Env): Mode => get(env, CORE_SETTINGS, 'NODE_ENV')

/** The tables of every section (the providers' included), whose names the typo check knows. */
export const SHARED_SETTINGS: readonly Settings[] = [
  CORE_SETTINGS,
  HOOK_SETTINGS,
  MESSAGE_SETTINGS,
  STATE_SETTINGS,
  GUARD_SETTINGS,
  ROUTING_SETTINGS,
  BREAKER_SETTINGS,
  INBOX_SETTINGS,
  DELIVERY_SETTINGS,
  REGISTRY_SETTINGS,
  ...PROVIDERS.map((definition) => definition.settings),
]

const namesOf = (tables: readonly Settings[], which: (setting: Setting) => boolean = () => true): Set<string> =>
  new Set(tables.flatMap((table) => Object.entries(table).flatMap(([name, setting]) => (which(setting) ? [name] : []))))

/**
 * The Node server's own settings in the checked namespace (node/config.ts declares them; a test keeps the two
 * alike): known everywhere, so that one environment serves both runtimes, and noted as ignored on a Worker.
 */
export const NODE_SERVER_NAMES = [
  'SMS_HOOK_MAX_CONNECTIONS',
  'SMS_HOOK_METRICS_PORT',
  'SMS_HOOK_METRICS_TOKEN',
] as const

export interface ParseOptions {
  /** Settings the runtime reads itself (the Node server's), known to the typo check too. */
  runtime?: readonly Settings[]
}

/**
 * Validates the environment. Throws a `ConfigErrors` with every wrong variable at once (the first error per
 * variable), each naming it. In production an unknown variable in the hook's namespaces is an error; in
 * development it is a note (`Config.notes`), like every setting that is set but ignored.
 *
 * @example
 * const config = parseConfig({ GOTRUE_HOOK_SEND_SMS_SECRETS: 'v1,whsec_...', NODE_ENV: 'production', GOTRUE_SMS_PROVIDER: 'console' })
 */
export const parseConfig = (env: Env, { runtime = [] }: ParseOptions = {}): Config =>
  collectErrors(env, (section, report) => {
    const mode = section(() => parseMode(env)) ?? 'production'
    const tables = [...SHARED_SETTINGS, ...runtime]
    const known = new Set([...namesOf(tables), ...NODE_SERVER_NAMES])
    const unknown = unknownSettings(
      env,
      known,
      namesOf(tables, (setting) => setting.deprecated === true),
    )
    if (mode === 'production') unknown.forEach(report)
    const hook = section(() => parseHookConfig(env))
    const logLevel = get(env, CORE_SETTINGS, 'LOG_LEVEL')
    const message = section(() => parseMessageConfig(env))
    const state = section(() => parseStateConfig(env))
    const guard = section(() => parseGuardConfig(env, mode))
    const routing = section(() => parseRoutingConfig(env, mode))
    const inbox = section(() => parseInboxConfig(env))
    const delivery = section(() => parseDeliveryConfig(env))
    // Every section parsed: collectErrors has thrown otherwise.
    return {
      mode,
      hook: hook!,
      logLevel,
      // Bare numbers are read by what the providers can reach: see `nationalNumbersFor`.
      message: messageConfigFor(message!, { sendsAbroad: anySendsAbroad(routing!.providers) }),
      state: state!,
      guard: guard!,
      routing: routing!,
      inbox: inbox!,
      delivery: delivery!,
      notes: [
        ...(mode === 'development' ? unknown.map((error) => ({ variable: error.variable, reason: error.detail })) : []),
        ...ignoredSettings(env, routing!),
        ...(runtime.length > 0
          ? []
          : NODE_SERVER_NAMES.filter((name) => isSet(env, name)).map((variable) => ({
              variable,
              reason: 'ignored: a setting of the Node server',
            }))),
      ],
    }
  })

/** A setting that is set but has no effect, and why: for the start-up summary and `sms-hook check`. */
export interface Note {
  variable: string
  reason: string
}

const ignoredSettings = (env: Env, routing: RoutingConfig): Note[] => {
  const notes: Note[] = []
  if (isSet(env, 'SMS_HOOK_ROUTES') && isSet(env, 'GOTRUE_SMS_PROVIDER')) {
    notes.push({ variable: 'GOTRUE_SMS_PROVIDER', reason: 'ignored: SMS_HOOK_ROUTES decides the providers' })
  }
  if (isSet(env, 'SMS_HOOK_TIMEOUT_MS')) {
    notes.push({
      variable: 'SMS_HOOK_TIMEOUT_MS',
      reason: isSet(env, 'SMS_HOOK_TIMEOUT')
        ? 'ignored: SMS_HOOK_TIMEOUT is set'
        : 'deprecated: write SMS_HOOK_TIMEOUT with a unit (4500ms)',
    })
  }
  if (isSet(env, 'SMS_HOOK_RECEIPTS') && !get(env, DELIVERY_SETTINGS, 'SMS_HOOK_RECEIPTS')) {
    for (const name of Object.keys(DELIVERY_SETTINGS)) {
      if (name !== 'SMS_HOOK_RECEIPTS' && isSet(env, name))
        notes.push({ variable: name, reason: 'ignored: SMS_HOOK_RECEIPTS=off keeps no delivery records' })
    }
  }
  const used = new Set(routing.providers.map((provider) => provider.name))
  for (const definition of PROVIDERS) {
    if (used.has(definition.name)) continue
    for (const name of Object.keys(definition.settings)) {
      if (isSet(env, name)) notes.push({ variable: name, reason: `ignored: no route uses ${definition.name}` })
    }
  }
  return notes
}
