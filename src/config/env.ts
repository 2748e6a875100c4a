/**
 * The environment as the service sees it: a leaf module, so that every section of the configuration, each
 * provider's included, can read its own variables (`config/settings.ts`) without importing the whole config.
 */

/** The environment as a plain record: `process.env` on Node, the bindings on Workers. */
export type Env = Record<string, string | undefined>

/** The trimmed value, or undefined when unset or blank (an empty variable in a compose file means "not set"). */
export const text = (env: Env, name: string): string | undefined => {
  const value = env[name]?.trim()
  return value ? value : undefined
}
