/**
 * `sms-hook check`: reads the configuration exactly as `serve` would (the same environment, the same tables), and
 * prints what it would do or every error, without listening. For CI, a Kubernetes init container, or the
 * minute before a redeploy.
 */
import type { Env } from '../config/env.js'
import { eachError } from '../config/settings.js'
import { isConfigError } from '../errors.js'
import { readConfiguration, summarize } from './configuration.js'

/** What `check` prints on stdout and stderr, and its exit status: 0 when the configuration would start, 1 otherwise. */
export const check = async (env: Env): Promise<{ status: 0 | 1; out: string; err: string }> => {
  try {
    const configuration = readConfiguration(env)
    const summary = summarize(env, configuration)
    const out = [
      'sms-hook: configuration is valid',
      ...Object.entries(summary).map(([key, value]) => `  ${key}: ${String(value)}`),
    ]
    const warnings = configuration.config.notes.map((note) => `sms-hook: warning: ${note.variable}: ${note.reason}`)
    return { status: 0, out: lines(out), err: lines(warnings) }
  } catch (error) {
    if (!isConfigError(error)) throw error
    const errors = eachError(error)
    return { status: 1, out: '', err: lines(errors.map((e) => `sms-hook: invalid configuration: ${e.message}`)) }
  }
}

const lines = (list: readonly string[]) => list.map((line) => `${line}\n`).join('')
