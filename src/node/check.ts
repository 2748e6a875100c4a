import { parseConfig, type Env } from '../config/index.js'
import { isConfigError } from '../errors.js'
import { parseServerConfig } from './config.js'

/**
 * Reads the configuration as start-up does, without listening: status 0 with a one-line summary, or 1 with the
 * wrong variable named.
 */
export const check = async (env: Env): Promise<{ status: number; out: string; err: string }> => {
  try {
    const config = parseConfig(env)
    const listen = parseServerConfig(env)
    const summary = {
      mode: config.mode,
      provider: config.routing.providers.map((provider) => provider.name).join(','),
      state: config.state.redis ? 'redis' : 'memory',
      listen: `${listen.host}:${listen.port}`,
    }
    return { status: 0, out: `${JSON.stringify(summary)}\n`, err: '' }
  } catch (error) {
    if (!isConfigError(error)) throw error
    return { status: 1, out: '', err: `sms-hook: invalid configuration: ${error.message}\n` }
  }
}
