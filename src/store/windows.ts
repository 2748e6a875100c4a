/**
 * The fixed windows every rate counter store counts in. A window of `windowMs` begins on a multiple of its length
 * (a minute window on the minute), so replicas and stores that never talk to each other agree on which window a
 * hit falls in. One module for the arithmetic, so the in-memory counters and the Durable Object counters cannot
 * drift apart on where a window begins or when it ends.
 */

/** A key's count in the window that began at `start`. */
export interface CountedWindow {
  start: number
  count: number
}

/** The start of the window of `windowMs` that contains `now` (both in epoch ms). */
export const windowStart = (now: number, windowMs: number): number => now - (now % windowMs)

/** The first millisecond after the window that began at `start`: the start of the next one. */
export const windowEnd = (start: number, windowMs: number): number => start + windowMs

/** Whether the window that began at `start` is over at `now`: its last millisecond is `windowEnd - 1`. */
export const hasEnded = (start: number, windowMs: number, now: number): boolean => windowEnd(start, windowMs) <= now

/**
 * Whether `stored` is the window that begins at `start`, so a hit adds to its count. Anything else (no window,
 * an ended one) means the hit is the first of a new window.
 */
export const isCurrent = (stored: CountedWindow | undefined, start: number): stored is CountedWindow =>
  stored?.start === start
