/**
 * The arithmetic of the benchmark: percentiles of one run's latencies, the median and spread of a figure over
 * alternating rounds, the open loop's schedule, and how an answer is read. Pure (no Node APIs), so `test/bench`
 * can check it on every runtime the tests use.
 */

/** The p-th percentile (0..100) of ascending `sorted` values by nearest rank; NaN when there are none. */
export const percentile = (sorted: ArrayLike<number>, p: number): number => {
  if (sorted.length === 0) return Number.NaN
  if (p <= 0) return sorted[0]!
  if (p >= 100) return sorted[sorted.length - 1]!
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.max(0, rank - 1)]!
}

/** A copy of `values`, ascending, as doubles: the shape `percentile` wants. */
export const sortedCopy = (values: ArrayLike<number>): Float64Array => Float64Array.from(values).sort()

/** A figure over rounds: the median is what the table judges, min and max show how much it moved. */
export interface Spread {
  median: number
  min: number
  max: number
  n: number
}

/** Median, minimum and maximum of `values`, leaving out NaN (a round that could not be measured). */
export const spread = (values: readonly number[]): Spread => {
  const xs = values.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b)
  if (xs.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, n: 0 }
  const mid = xs.length >> 1
  const median = xs.length % 2 === 1 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2
  return { median, min: xs[0]!, max: xs[xs.length - 1]!, n: xs.length }
}

/** Pairs of rounds (same index: the hook's round and the baseline's next to it) combined by `f`. */
export const pairwise = (a: readonly number[], b: readonly number[], f: (x: number, y: number) => number): number[] =>
  a.slice(0, Math.min(a.length, b.length)).map((x, i) => f(x, b[i]!))

/** A number with `digits` decimals and thousands separators: `12,345.6`. */
export const num = (value: number, digits = 0): string =>
  Number.isFinite(value)
    ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : 'n/a'

/** `median (min–max)`, each with `digits` decimals and `unit` after them. */
export const showSpread = (s: Spread, digits: number, unit = ''): string =>
  s.n === 0
    ? 'n/a'
    : s.n === 1
      ? `${num(s.median, digits)}${unit}`
      : `${num(s.median, digits)}${unit} (${num(s.min, digits)}–${num(s.max, digits)})`

/** A comparison against a target: `value op limit`. */
export type Op = '>=' | '<=' | '<'

export const meets = (value: number, op: Op, limit: number): boolean =>
  Number.isFinite(value) && (op === '>=' ? value >= limit : op === '<=' ? value <= limit : value < limit)

/**
 * The times at which an open-loop generator sends: request `i` is due `i * 1000 / rate` ms after the start,
 * whatever happened to the requests before it, so a slow answer cannot delay (and hide) the ones after it.
 */
export const dueAt = (start: number, rate: number, i: number): number => start + (i * 1000) / rate

/** How many requests of a schedule at `rate` per second are due by `elapsedMs` (at most `total`). */
export const dueBy = (rate: number, elapsedMs: number, total: number): number =>
  Math.min(total, Math.max(0, Math.floor((elapsedMs * rate) / 1000) + 1))

/**
 * The status GoTrue reads from an answer: the HTTP status, except for a 200 carrying the service's error object
 * (`{"error":{"http_code":N,...}}`, its answer to GoTrue versions that send `metadata`), which GoTrue reads as N.
 */
export const answerStatus = (status: number, body: string): number => {
  if (status !== 200 || body.length <= 2) return status
  try {
    const code = (JSON.parse(body) as { error?: { http_code?: unknown } }).error?.http_code
    return typeof code === 'number' ? code : status
  } catch {
    return status
  }
}
