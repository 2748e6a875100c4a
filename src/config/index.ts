/**
 * The whole configuration, in sections each parsed by the module that owns it. Built once by `parseConfig`;
 * the app never reads the environment itself.
 */
import { parseHookConfig, type HookConfig } from '../hook/config.js'
import { LOG_LEVELS, type LogLevel } from '../log.js'
import { parseMessageConfig, type MessageConfig } from '../message/build.js'
import { parseProviderConfig, type ProviderConfig } from '../providers/registry.js'
import { parseStoreConfig, type StoreConfig } from '../store/config.js'
import { oneOf, type Env } from './env.js'

export type { Env } from './env.js'

export type Mode = 'production' | 'development'

export interface Config {
  mode: Mode
  logLevel: LogLevel
  hook: HookConfig
  message: MessageConfig
  store: StoreConfig
  provider: ProviderConfig
}

/**
 * Validates the environment. Throws a `ConfigError` naming the first wrong variable.
 *
 * @example
 * const config = parseConfig({ GOTRUE_HOOK_SEND_SMS_SECRETS: 'v1,whsec_...', NODE_ENV: 'production', GOTRUE_SMS_PROVIDER: 'console' })
 */
export const parseConfig = (env: Env): Config => {
  const mode: Mode = env.NODE_ENV === 'production' ? 'production' : 'development'
  return {
    mode,
    hook: parseHookConfig(env),
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    message: parseMessageConfig(env),
    store: parseStoreConfig(env),
    provider: parseProviderConfig(env, mode),
  }
}
