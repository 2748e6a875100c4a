/**
 * The few timing helpers every step of a hook call uses, in one place (like Hono's own `timeout` middleware):
 * race a promise against a deadline or a signal, and sleep until a time or an abort. Each leaves no timer or
 * listener behind once it settles, so a call that ends early costs nothing more.
 */
import type { Clock } from './clock.js'

/**
 * Settles as `pending` does, or rejects with the signal's reason as soon as `signal` aborts; `pending` goes on
 * either way (what it does later is its own business), and the listener is removed once either settles.
 */
export const untilAborted = <T>(pending: Promise<T>, signal: AbortSignal): Promise<T> => {
  if (signal.aborted) {
    // Nobody will read what `pending` ends with: a rejection must not go unhandled.
    pending.catch(() => {})
    return Promise.reject(signal.reason)
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    pending.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

/**
 * Settles as `pending` does, or rejects with `onTimeout()` after `ms`; the timer is cleared as soon as either
 * happens. `pending` is not cancelled: give it a signal of its own where it can stop.
 */
export const withTimeout = <T>(pending: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> => {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), Math.max(0, ms))
  })
  return Promise.race([pending, timeout]).finally(() => {
    if (timer !== undefined) clearTimeout(timer)
  })
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts, leaving no timer behind. */
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason)
      return
    }
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal!.reason)
    }
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      },
      Math.max(0, ms),
    )
    signal?.addEventListener('abort', onAbort, { once: true })
  })

/**
 * One moment by `clock` that several steps must finish by (a hook call's answer, a provider call's last
 * chance), with at most one timer, made on first use: most calls end long before their deadline and never
 * need it, and timers and AbortControllers are costly on Node's hot path. `clear()` once the owner is done.
 *
 * @example
 * const deadline = new Deadline(arrival + 4500, clock, () => new StateUnavailableError('no answer in time'))
 * try { await deadline.race(store.claim(key, leaseMs)) } finally { deadline.clear() }
 */
export class Deadline {
  #controller: AbortController | undefined
  #timer: ReturnType<typeof setTimeout> | undefined

  constructor(
    /** Epoch milliseconds by `clock`. */
    readonly at: number,
    readonly clock: Clock,
    /** The reason the signal aborts with, which `race` rejects with. */
    readonly reason: () => Error,
  ) {}

  /** Milliseconds left; zero or less once passed. */
  remaining(): number {
    return this.at - this.clock.now()
  }

  get passed(): boolean {
    return this.remaining() <= 0
  }

  /** Aborts with `reason()` at the deadline (at once when it has passed already). */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      const controller = new AbortController()
      this.#controller = controller
      const ms = this.remaining()
      if (ms <= 0) controller.abort(this.reason())
      else this.#timer = setTimeout(() => controller.abort(this.reason()), ms)
    }
    return this.#controller.signal
  }

  /**
   * Settles as `pending` does, or rejects at the deadline with `reason()`, or with `timeoutError()` when given
   * (a step that reads the deadline its own way: for the shared state it means "no answer"); `pending` goes on.
   */
  race<T>(pending: Promise<T>, timeoutError?: () => Error): Promise<T> {
    const raced = untilAborted(pending, this.signal)
    if (timeoutError === undefined) return raced
    return raced.catch((error: unknown) => {
      throw this.isReason(error) ? timeoutError() : error
    })
  }

  /** Whether `error` is this deadline's own abort reason: the deadline passed, rather than the work failing. */
  isReason(error: unknown): boolean {
    return this.#controller !== undefined && this.#controller.signal.aborted && this.#controller.signal.reason === error
  }

  /** Stops the timer; the signal never aborts after this. */
  clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
  }
}
