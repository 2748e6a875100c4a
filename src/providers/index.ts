import type { Clock } from '../clock.js'
import type { Env, Mode } from '../config.js'
import type { Inbox } from '../dev/inbox.js'
import { ConfigError } from '../errors.js'
import type { Logger } from '../log.js'
import { createAliyunProvider, parseAliyunConfig, type AliyunConfig, type AliyunTransportFactory } from './aliyun/index.js'
import { createConsoleProvider } from './console.js'
import type { Provider } from './types.js'

/** Per-provider settings, parsed from GoTrue's own variable names. */
export type ProviderConfig = { name: 'console' } | AliyunConfig

export const PROVIDER_NAMES = ['console', 'aliyun'] as const

/** What providers may use; the runtime entry points supply it. */
export interface ProviderDeps {
  clock: Clock
  fetch: typeof fetch
  logger: Logger
  /** Where the console provider keeps messages for `/dev/inbox`. */
  inbox: Inbox
  /**
   * The Alibaba Cloud SDK transport (`aliyun/sdk-transport.ts`). Only the Node entry passes it, so that code
   * meant for Workers never loads the SDK; without it the aliyun provider uses its fetch transport.
   */
  aliyunSdkTransport?: AliyunTransportFactory
}

/**
 * Reads `GOTRUE_SMS_PROVIDER` and that provider's variables. Outside production the console provider is the
 * default, so a fresh checkout runs with nothing set; production must choose, so a forgotten variable
 * never silently prints OTPs instead of sending them.
 */
export const parseProviderConfig = (env: Env, mode: Mode): ProviderConfig => {
  const name = env.GOTRUE_SMS_PROVIDER?.trim().toLowerCase() || undefined
  if (name === undefined && mode === 'production') {
    throw new ConfigError('GOTRUE_SMS_PROVIDER', `is required in production (one of: ${PROVIDER_NAMES.join(', ')})`)
  }
  switch (name ?? 'console') {
    case 'console':
      return { name: 'console' }
    case 'aliyun':
      return parseAliyunConfig(env)
    default:
      throw new ConfigError('GOTRUE_SMS_PROVIDER', `must be one of ${PROVIDER_NAMES.join(', ')}, got "${name}"`)
  }
}

export const createProvider = (config: ProviderConfig, deps: ProviderDeps): Provider => {
  switch (config.name) {
    case 'console':
      return createConsoleProvider(deps)
    case 'aliyun':
      return createAliyunProvider(config, deps)
  }
}
