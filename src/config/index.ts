/**
 * The whole configuration, in sections each parsed by the module that owns it. Built once by `parseConfig`;
 * the app never reads the environment itself.
 */
import { parseInboxConfig, type InboxConfig } from '../dev/routes.js'
import { ConfigError } from '../errors.js'
import { parseGuardConfig, type GuardConfig } from '../guard/config.js'
import { parseHookConfig, type HookConfig } from '../hook/config.js'
import { parseRoutingConfig, type RoutingConfig } from '../hook/route.js'
import { LOG_LEVELS, type LogLevel } from '../log.js'
import { messageConfigFor, parseMessageConfig, type MessageConfig } from '../message/build.js'
import { anySendsAbroad } from '../providers/registry.js'
import { parseStateConfig, type StateConfig } from '../store/config.js'
import { oneOf, text, type Env } from './env.js'

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
}

/**
 * Production unless development is asked for: `NODE_ENV=development` or `test` (`npm run dev` and `--dev` set
 * it). A service started under systemd, pm2 or Kubernetes with no NODE_ENV must not print OTPs instead of
 * sending them, so an unset NODE_ENV is production and a value that is neither (a typo such as `prod`) stops
 * start-up rather than be guessed.
 */
export const parseMode = (env: Env): Mode => {
  const value = text(env, 'NODE_ENV')
  if (value === undefined || value === 'production') return 'production'
  if (value === 'development' || value === 'test') return 'development'
  throw new ConfigError('NODE_ENV', `must be production, development or test, got "${value}"`)
}

/**
 * Validates the environment. Throws a `ConfigError` naming the first wrong variable.
 *
 * @example
 * const config = parseConfig({ GOTRUE_HOOK_SEND_SMS_SECRETS: 'v1,whsec_...', NODE_ENV: 'production', GOTRUE_SMS_PROVIDER: 'console' })
 */
export const parseConfig = (env: Env): Config => {
  const mode = parseMode(env)
  // Read in a fixed order: of two wrong variables, the one read first here is named.
  const hook = parseHookConfig(env)
  const logLevel = oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info')
  const message = parseMessageConfig(env)
  const state = parseStateConfig(env)
  const guard = parseGuardConfig(env)
  const routing = parseRoutingConfig(env, mode)
  return {
    mode,
    hook,
    logLevel,
    // Bare numbers are read by what the providers can reach: see `nationalNumbersFor`.
    message: messageConfigFor(message, { sendsAbroad: anySendsAbroad(routing.providers) }),
    state,
    guard,
    routing,
    inbox: parseInboxConfig(env),
  }
}
