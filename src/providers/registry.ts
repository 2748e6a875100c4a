/**
 * Every provider the service knows, one line each. A provider is defined in its own module (name, settings,
 * construction); this list is the only other place it is named.
 */
import type { Mode } from '../config/index.js'
import type { Env } from '../config/env.js'
import { anyText, get, type SettingDocs, type Settings } from '../config/settings.js'
import { ConfigError } from '../errors.js'
import { aliyun } from './aliyun/index.js'
import { consoleProvider } from './console.js'
import { messagebird } from './messagebird.js'
import { tencent } from './tencent/index.js'
import { textlocal } from './textlocal.js'
import { twilio } from './twilio.js'
import type { Provider, ProviderDefinition, ProviderDeps } from './types.js'
import { vonage } from './vonage.js'

export const PROVIDERS: readonly ProviderDefinition[] = [
  consoleProvider,
  aliyun,
  twilio,
  vonage,
  messagebird,
  textlocal,
  tencent,
]

/** A chosen provider and its parsed settings. */
export interface ProviderConfig {
  name: string
  settings: unknown
}

export const REGISTRY_SETTINGS = {
  // Read as written and checked against the definitions below, which the error lists.
  GOTRUE_SMS_PROVIDER: { parse: anyText },
} as const satisfies Settings

export const REGISTRY_SETTING_DOCS: SettingDocs<typeof REGISTRY_SETTINGS> = {
  GOTRUE_SMS_PROVIDER:
    'aliyun, tencent, twilio, vonage, messagebird, textlocal or console (required in production; console otherwise). ' +
    'Ignored when SMS_HOOK_ROUTES is set.',
}

const names = (definitions: readonly ProviderDefinition[]) => definitions.map((d) => d.name).join(', ')

/**
 * Reads `GOTRUE_SMS_PROVIDER` (any case) and that provider's variables. Outside production the console
 * provider is the default, so a fresh checkout runs with nothing set; production must choose, so a forgotten
 * variable never silently prints OTPs instead of sending them.
 */
export const parseProviderConfig = (env: Env, mode: Mode, definitions = PROVIDERS): ProviderConfig => {
  const name = get(env, REGISTRY_SETTINGS, 'GOTRUE_SMS_PROVIDER')?.toLowerCase()
  if (name === undefined && mode === 'production') {
    throw new ConfigError('GOTRUE_SMS_PROVIDER', `is required in production (one of: ${names(definitions)})`)
  }
  const definition = definitionOf(name ?? consoleProvider.name, definitions)
  return { name: definition.name, settings: definition.parse(env) }
}

export const definitionOf = (
  name: string,
  definitions: readonly ProviderDefinition[] = PROVIDERS,
): ProviderDefinition => {
  const definition = definitions.find((d) => d.name === name)
  if (definition === undefined) {
    throw new ConfigError('GOTRUE_SMS_PROVIDER', `must be one of ${names(definitions)}, got "${name}"`)
  }
  return definition
}

/**
 * Whether any of the configured providers can send outside mainland China, by each definition's own
 * `sendsAbroad`; a definition that does not say is taken to send anywhere.
 */
export const anySendsAbroad = (
  configs: readonly ProviderConfig[],
  definitions: readonly ProviderDefinition[] = PROVIDERS,
): boolean => configs.some((config) => definitionOf(config.name, definitions).sendsAbroad?.(config.settings) ?? true)

/**
 * Builds the configured providers from `definitions`, keyed by name: the runtime's own list, since a runtime may
 * define a provider differently (Node gives Alibaba Cloud its official SDK, which Workers cannot load).
 *
 * @example
 * const providers = buildProviders(config.routing.providers, deps) // { aliyun: Provider, twilio: Provider }
 */
export const buildProviders = (
  configs: readonly ProviderConfig[],
  deps: ProviderDeps,
  definitions: readonly ProviderDefinition[] = PROVIDERS,
): Record<string, Provider> =>
  Object.fromEntries(
    configs.map((config) => [config.name, definitionOf(config.name, definitions).create(config.settings, deps)]),
  )
