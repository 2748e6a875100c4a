/**
 * The typo check: a variable in the hook's own namespaces that no table declares is a mistake (a misspelt
 * `SMS_HOOK_ALLOWED_COUNTRY` would otherwise leave every country allowed without a word). GoTrue's own
 * `GOTRUE_SMS_*` and `GOTRUE_HOOK_SEND_SMS_*` variables are known too, so a GoTrue `.env` shared with the hook
 * still starts.
 */
import { ConfigError } from '../errors.js'
import type { Env } from './env.js'

/** Where a variable must be one the hook knows: its own, and the namespace of GoTrue's SMS settings it shares. */
const CHECKED = /^(SMS_HOOK_|GOTRUE_SMS_|GOTRUE_HOOK_SEND_SMS_)/

/**
 * GoTrue's own settings in those namespaces that the hook does not read (its configuration's `Sms` section and
 * the send-SMS hook), docs/settings.md: they belong to GoTrue and are left alone.
 */
export const GOTRUE_OWN = [
  'GOTRUE_HOOK_SEND_SMS_ENABLED',
  'GOTRUE_HOOK_SEND_SMS_URI',
  'GOTRUE_SMS_AUTOCONFIRM',
  'GOTRUE_SMS_MAX_FREQUENCY',
  'GOTRUE_SMS_OTP_LENGTH',
  'GOTRUE_SMS_TEST_OTP',
  'GOTRUE_SMS_TEST_OTP_VALID_UNTIL',
  'GOTRUE_SMS_TWILIO_CONTENT_SID',
  'GOTRUE_SMS_TWILIO_VERIFY_ACCOUNT_SID',
  'GOTRUE_SMS_TWILIO_VERIFY_AUTH_TOKEN',
  'GOTRUE_SMS_TWILIO_VERIFY_MESSAGE_SERVICE_SID',
] as const

/** Names outside the checked namespaces whose near misses are named too: a misspelt one silently changes the state. */
const WATCHED = ['REDIS_URL']

/**
 * Edits between two names, counting a swap of neighbours as one (`REIDS_URL`), for the suggestion.
 */
const distance = (a: string, b: string): number => {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1)
      d[i]![j] = best
    }
  }
  return d[a.length]![b.length]!
}

/** The known name closest to `name`, when it is close enough to be what was meant. */
export const closest = (name: string, known: Iterable<string>): string | undefined => {
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of known) {
    const d = distance(name, candidate)
    if (d < bestDistance) [best, bestDistance] = [candidate, d]
  }
  // A third of the name: `_COUNTRY` for `_COUNTRIES` is close, an unrelated setting of the same prefix is not.
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined
}

/**
 * An error for each variable of `env` in the checked namespaces that is neither in `known` nor GoTrue's own, and
 * for each near miss of a watched name, with the closest known name when there is one (never a `deprecated` one).
 */
export const unknownSettings = (
  env: Env,
  known: ReadonlySet<string>,
  deprecated: ReadonlySet<string> = new Set(),
): ConfigError[] => {
  const all = [...known, ...GOTRUE_OWN].filter((name) => !deprecated.has(name))
  const errors: ConfigError[] = []
  for (const name of Object.keys(env)) {
    if (known.has(name) || (GOTRUE_OWN as readonly string[]).includes(name)) continue
    const nearWatched = WATCHED.find((watched) => distance(name, watched) <= 2)
    if (!CHECKED.test(name) && nearWatched === undefined) continue
    const suggestion = nearWatched ?? closest(name, all)
    errors.push(
      new ConfigError(
        name,
        `unknown setting${suggestion ? `; did you mean ${suggestion}?` : ' (docs/settings.md lists every one)'}`,
      ),
    )
  }
  return errors
}
