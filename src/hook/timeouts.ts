/**
 * How a provider attempt's deadline is timed. Two ways:
 * - `timerPerCall`: a timer set and cleared per attempt, the portable way (on Workers a timer belongs to the
 *   request that set it, and stops with it, so a timer shared between requests could never be relied on);
 * - `sharedTimeouts` (Node): every attempt's deadline in one queue with one timer. Most attempts end long before
 *   their deadline, and a timer made and dropped for each of them is a cost paid thousands of times a second.
 *
 * Times are kept as a timer keeps them: `ms` from when the wait was asked for, on the monotonic clock, whatever
 * the injected clock says (a test clock may stand still).
 */
interface Waiting {
  at: number
  onTimeout: (() => void) | undefined
}

export interface Timeout {
  /** Forgets the wait; its callback will not run. */
  cancel(): void
}

/** Calls `onTimeout` after `ms`, unless cancelled first. */
export type Timeouts = (ms: number, onTimeout: () => void) => Timeout

export const timerPerCall: Timeouts = (ms, onTimeout) => {
  const timer = setTimeout(onTimeout, ms)
  return { cancel: () => clearTimeout(timer) }
}

/** Entries, earliest first, from `head` on; a cancelled one is skipped and dropped when it comes up. */
let queue: Waiting[] = []
let head = 0
let timer: ReturnType<typeof setTimeout> | undefined
let armedFor = Number.POSITIVE_INFINITY

/**
 * The shared queue, for a process that serves every request from one event loop (Node).
 *
 * @example
 * const timeout = sharedTimeouts(4500, () => controller.abort())
 * await work.finally(() => timeout.cancel())
 */
export const sharedTimeouts: Timeouts = (ms, onTimeout) => {
  const waiting: Waiting = { at: performance.now() + ms, onTimeout }
  insert(waiting)
  if (waiting.at < armedFor) arm()
  return {
    cancel() {
      waiting.onTimeout = undefined
    },
  }
}

/** Deadlines arrive nearly in order (arrival + one timeout): appending is the rule, a short walk back the exception. */
const insert = (waiting: Waiting) => {
  let i = queue.length
  while (i > head && queue[i - 1]!.at > waiting.at) i--
  if (i === queue.length) queue.push(waiting)
  else queue.splice(i, 0, waiting)
}

const arm = () => {
  while (head < queue.length && queue[head]!.onTimeout === undefined) head++
  compact()
  if (timer !== undefined) clearTimeout(timer)
  timer = undefined
  armedFor = Number.POSITIVE_INFINITY
  const next = queue[head]
  if (next === undefined) return
  armedFor = next.at
  timer = setTimeout(fire, Math.max(0, next.at - performance.now()))
}

const fire = () => {
  timer = undefined
  armedFor = Number.POSITIVE_INFINITY
  // Timers may fire up to a millisecond early by the monotonic clock: take what is due within that.
  const now = performance.now() + 1
  while (head < queue.length && queue[head]!.at <= now) {
    const due = queue[head++]!
    const onTimeout = due.onTimeout
    due.onTimeout = undefined
    onTimeout?.()
  }
  arm()
}

/** Drops the consumed front now and then rather than shift() each time, which moves the whole array. */
const compact = () => {
  if (head === queue.length) {
    queue = []
    head = 0
  } else if (head >= 1024 && head * 2 >= queue.length) {
    queue = queue.slice(head)
    head = 0
  }
}
