/**
 * A circuit breaker per provider, so that a vendor that keeps failing is passed over for a while instead of
 * eating the 5-second budget of every sign-in.
 *
 * It counts hooks, not attempts: a hook whose attempts on a provider all ended retryable, configuration or
 * outcome unknown is one failure, however many attempts it made. Only failures that say the vendor fails for
 * everyone are such: its 5xx error JSON, a connection error or timeout, our account throttled or refused. An
 * answer about the destination (a number or region the vendor refuses, per-number flow control) never counts,
 * since anyone can pick such numbers: a known one shows the vendor is up, as a delivery does, and a code the
 * vendor's table does not know shows nothing either way. After `threshold` failed hooks
 * in a row the breaker opens: the provider is skipped for `cooldownMs`. Then one hook is let through as a
 * probe (half-open; the others still skip it): its success closes the breaker, its failure opens it for
 * another cooldown.
 *
 * The state lives in this process (or Worker isolate): each replica learns on its own.
 */
import type { Clock } from '../clock.js'
import type { Env } from '../config/env.js'
import { duration, get, integer, type SettingDocs, type Settings } from '../config/settings.js'
import type { Provider } from '../providers/types.js'

export interface BreakerConfig {
  /** `SMS_HOOK_BREAKER_THRESHOLD`: failed hooks in a row that open a provider's breaker. */
  threshold: number
  /** `SMS_HOOK_BREAKER_COOLDOWN`: how long an open breaker skips its provider before one probe may try it. */
  cooldownMs: number
}

const DEFAULT_BREAKER_THRESHOLD = 5
const DEFAULT_BREAKER_COOLDOWN_MS = 30_000

export const BREAKER_SETTINGS = {
  SMS_HOOK_BREAKER_THRESHOLD: { parse: integer({ min: 1, max: 1000 }), default: String(DEFAULT_BREAKER_THRESHOLD) },
  SMS_HOOK_BREAKER_COOLDOWN: { parse: duration({ min: 100, max: 60 * 60_000 }), default: '30s' },
} as const satisfies Settings

export const BREAKER_SETTING_DOCS: SettingDocs<typeof BREAKER_SETTINGS> = {
  SMS_HOOK_BREAKER_THRESHOLD:
    "Failed hook calls in a row (1 to 1000) that open a provider's breaker: the route skips it until the cooldown.",
  SMS_HOOK_BREAKER_COOLDOWN: 'How long an open breaker skips its provider before one probe may try it (100ms to 1h).',
}

export const parseBreakerConfig = (env: Env): BreakerConfig => ({
  threshold: get(env, BREAKER_SETTINGS, 'SMS_HOOK_BREAKER_THRESHOLD'),
  cooldownMs: get(env, BREAKER_SETTINGS, 'SMS_HOOK_BREAKER_COOLDOWN'),
})

/** What observers hear: the breaker opened (the provider is skipped), let a probe through, or closed again. */
export type BreakerTransition = 'opened' | 'half_open' | 'closed'

/**
 * Leave to try a provider: an ordinary `pass` of a closed breaker, the one `probe` of a half-open breaker, or
 * `forced` past an open breaker because every provider of the route is open.
 */
export type BreakerPass = 'pass' | 'probe' | 'forced'

/**
 * How a hook's run on a provider ended for its breaker: the vendor answered (`up`), it failed (`down`), or the
 * run says nothing of the vendor (`none`: the hook's deadline passed before the call, or the vendor answered
 * with a code its table does not know).
 */
export type BreakerVerdict = 'up' | 'down' | 'none'

export class CircuitBreaker {
  #state: 'closed' | 'open' | 'half_open' = 'closed'
  /** Failed hooks in a row while closed. */
  #failures = 0
  /** While open: when the cooldown ends, by the clock. */
  #openUntil = 0
  /** While half-open: whether the probe is out. */
  #probing = false

  readonly #config: BreakerConfig
  readonly #clock: Clock
  readonly #onTransition: (transition: BreakerTransition) => void

  constructor(
    readonly provider: string,
    config: BreakerConfig,
    clock: Clock,
    onTransition: (transition: BreakerTransition) => void = () => {},
  ) {
    this.#config = config
    this.#clock = clock
    this.#onTransition = onTransition
  }

  /** Whether `enter` would let a hook try the provider now; it takes nothing. */
  get available(): boolean {
    if (this.#state === 'closed') return true
    if (this.#state === 'open') return this.#clock.now() >= this.#openUntil
    return !this.#probing
  }

  /**
   * Asks to try the provider now: a `pass` while closed, the `probe` when the cooldown is over and no other
   * hook probes, undefined when it must be skipped. Every pass must be followed by `record`.
   */
  enter(): Exclude<BreakerPass, 'forced'> | undefined {
    if (this.#state === 'closed') return 'pass'
    if (this.#state === 'open') {
      if (this.#clock.now() < this.#openUntil) return undefined
      this.#state = 'half_open'
      this.#probing = false
      this.#onTransition('half_open')
    }
    if (this.#probing) return undefined
    this.#probing = true
    return 'probe'
  }

  /** Reports how the hook that was given `pass` ended its run on the provider. */
  record(pass: BreakerPass, verdict: BreakerVerdict): void {
    if (verdict === 'none') {
      // The probe told nothing: the next hook may make it.
      if (pass === 'probe') this.#probing = false
      return
    }
    if (verdict === 'up') {
      // Any answer from the vendor, whoever got it, shows it is up.
      this.#failures = 0
      this.#probing = false
      if (this.#state !== 'closed') {
        this.#state = 'closed'
        this.#onTransition('closed')
      }
      return
    }
    if (pass === 'probe') {
      if (this.#state === 'half_open') this.#open()
      return
    }
    // A forced try fails while the breaker is open already, and a hook that started before the breaker opened
    // adds nothing to what opened it.
    if (this.#state !== 'closed') return
    this.#failures++
    if (this.#failures >= this.#config.threshold) this.#open()
  }

  #open() {
    this.#state = 'open'
    this.#openUntil = this.#clock.now() + this.#config.cooldownMs
    this.#failures = 0
    this.#probing = false
    this.#onTransition('opened')
  }
}

/**
 * One breaker per provider, made on first use; `onTransition` hears every provider's transitions.
 *
 * @example
 * const breakerOf = createBreakers(config.routing.breaker, clock, (provider, state) => observe({ type: 'breaker', provider, state }))
 * const pass = breakerOf(provider).enter()
 */
export const createBreakers = (
  config: BreakerConfig,
  clock: Clock,
  onTransition: (provider: string, transition: BreakerTransition) => void,
): ((provider: Provider) => CircuitBreaker) => {
  const breakers = new Map<Provider, CircuitBreaker>()
  return function breakerOf(provider) {
    let breaker = breakers.get(provider)
    if (breaker === undefined) {
      breaker = new CircuitBreaker(provider.name, config, clock, (transition) =>
        onTransition(provider.name, transition),
      )
      breakers.set(provider, breaker)
    }
    return breaker
  }
}
