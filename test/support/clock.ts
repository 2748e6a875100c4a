/** Time in tests: a clock that moves only when told. */
import type { Clock } from '../../src/clock.js'

export type ManualClock = Clock & { advance(ms: number): void }

/** A clock that moves only when told; a provider script may advance it to stand for the time a vendor took. */
export const manualClock = (start = Date.now()): ManualClock => {
  let now = start
  return {
    now: () => now,
    advance: (ms) => void (now += ms),
  }
}
