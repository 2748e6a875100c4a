/**
 * The SMS-pumping guard: refuses destinations outside the allowed countries or inside blocked prefixes, and calls
 * past a velocity limit (per end-user address and IPv6 network, then per number, per country, in all), before any
 * provider is paid for them. The hook runs it inside the idempotency claim, so a repeat answered from a stored outcome is never
 * counted again, and records its refusals as the call's outcome.
 */
import { MESSAGES, refused, type Refused } from '../outcome.js'
import type { PhoneNumber } from '../phone/e164.js'
import type { RateCounters } from '../store/types.js'
import { LIMIT_RULES, type GuardConfig, type Limit, type LimitRule } from './config.js'
import { ipKey, networkKey } from './ip.js'

/** Which rule refused a call: the `rule` of logs, events and metrics. */
export type GuardRule = 'country_not_allowed' | 'prefix_blocked' | LimitRule

export interface GuardCall {
  to: PhoneNumber
  /**
   * The destination's keyed hash (`delivery/number-key.ts`): what the per-number counter is keyed by, so that the
   * shared state never holds the numbers that asked for codes in clear.
   */
  number: string
  /** The end user's address as GoTrue saw it (`metadata.ip_address`, v2.187+); the caller-side limits need it. */
  ip: string | undefined
}

export type GuardVerdict = { ok: true } | { ok: false; rule: GuardRule; refusal: Refused }

export type Guard = (call: GuardCall) => Promise<GuardVerdict>

const ALLOW: GuardVerdict = { ok: true }
/** The verdict of a rule that refuses: which rule, and the answer to GoTrue, kept for its retries (`final`). */
const refusedBy = (rule: GuardRule, status: 400 | 429, code: string, message: string): GuardVerdict => ({
  ok: false,
  rule,
  refusal: { ...refused(status, code, message), final: true },
})
const NOT_ALLOWED = refusedBy('country_not_allowed', 400, 'country_not_allowed', MESSAGES.countryNotAllowed)
const BLOCKED = refusedBy('prefix_blocked', 400, 'number_blocked', MESSAGES.numberBlocked)
const LIMITED = Object.fromEntries(
  LIMIT_RULES.map((rule) => [rule, refusedBy(rule, 429, 'too_many_requests', MESSAGES.tooManyRequests)]),
) as Record<LimitRule, GuardVerdict>

/** The counter each limit adds a call to; undefined when the call has nothing to count it by. */
const COUNTER_KEYS: Record<LimitRule, (call: GuardCall) => string | undefined> = {
  per_ip: (call) => (call.ip === undefined ? undefined : `ip:${ipKey(call.ip)}`),
  per_network: (call) => {
    const network = call.ip === undefined ? undefined : networkKey(call.ip)
    return network === undefined ? undefined : `network:${network}`
  },
  per_number: (call) => `number:${call.number}`,
  per_country: (call) => `country:${call.to.callingCode}`,
  global: () => 'global',
}

/** Whose budget each limit guards: the caller's (who asks) or the destination's (who receives, and what it costs). */
const SIDES: Record<LimitRule, 'caller' | 'destination'> = {
  per_ip: 'caller',
  per_network: 'caller',
  per_number: 'destination',
  per_country: 'destination',
  global: 'destination',
}

interface CountedLimit extends Limit {
  rule: LimitRule
  key: (call: GuardCall) => string | undefined
}

/**
 * Builds the guard over the shared counters. The caller-side limits count the call first; only a call they let
 * through is counted against its destination, so an address past its own limit cannot spend a victim's per-number
 * budget (nor the country's or the global one) with calls that are refused anyway. Every limit of a side counts
 * every call that reaches it, refused or not, so a script that keeps trying stays refused until its window ends.
 * The counters of one side are hit together: two round trips at most. Rejects with the counters' error
 * (StateUnavailableError when the shared state is down): `SMS_HOOK_STATE_DOWN` is the caller's to apply.
 *
 * @example
 * const guard = createGuard(config.guard, counters)
 * const verdict = await guard({ to, ip: payload.ip })
 */
export const createGuard = (config: GuardConfig, counters: RateCounters): Guard => {
  const { allowedCountries, blockedPrefixes } = config
  const limits = LIMIT_RULES.flatMap((rule): CountedLimit[] => {
    const limit = config.limits[rule]
    return limit === undefined ? [] : [{ rule, ...limit, key: COUNTER_KEYS[rule] }]
  })
  const caller = limits.filter(({ rule }) => SIDES[rule] === 'caller')
  const destination = limits.filter(({ rule }) => SIDES[rule] === 'destination')

  /** The first of `side`'s limits the call is past, once it is counted by all of them; undefined within all. */
  const count = async (side: CountedLimit[], call: GuardCall) => {
    const counts = await Promise.all(
      side.map(({ key, windowMs }) => {
        const counter = key(call)
        return counter === undefined ? 0 : counters.hit(counter, windowMs)
      }),
    )
    return side.find((limit, i) => counts[i]! > limit.max)
  }

  return async function guard(call) {
    if (allowedCountries !== undefined && !allowedCountries.has(call.to.callingCode)) return NOT_ALLOWED
    if (blockedPrefixes.some((prefix) => call.to.e164.startsWith(prefix))) return BLOCKED
    const over = (await count(caller, call)) ?? (await count(destination, call))
    return over === undefined ? ALLOW : LIMITED[over.rule]
  }
}
