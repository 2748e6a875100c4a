/** Time as the app sees it. Injected so signature windows, leases and expiry are testable without sleeping. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }
