import type { Clock } from '../clock.js'
import { Queue } from './queue.js'
import { checkWindow, type RateCounters } from './types.js'
import { hasEnded, isCurrent, windowStart } from './windows.js'

export interface MemoryRateCountersOptions {
  clock: Clock
  /**
   * Upper bound on the keys counted exactly. Past it a live window is never forgotten: new keys are counted in a
   * fixed-size sketch instead, which may count them a little high but never low.
   */
  maxKeys?: number
}

/** How full the counters are, for metrics. */
export interface MemoryRateCountersStats {
  /** Windows counted exactly now, at most `maxKeys`. */
  exact: number
  /** Hits counted in a sketch because the exact windows were at the cap, since the counters were made. */
  sketched: number
}

/**
 * One key's exact window. Its length is the lane it is queued in, so it is not stored: each field is heap for
 * every key at the cap.
 */
type Window = { id: string; start: number; count: number }

/** Ended windows forgotten per hit at most, so a burst of expiries never stalls one request. */
const SWEEP_PER_HIT = 64

/**
 * Count-min sketch dimensions (Cormode and Muthukrishnan). An estimate is never below the true count. It is at most
 * `e / WIDTH * N` above it for a share `1 - e^-DEPTH` of keys, N being the hits counted in the sketch in that window:
 * with 65,536 cells by 4 rows, at most one too many per 24,000 sketched hits for 98% of keys (100,000 sketched
 * hits: 5 at most). Conservative update (raising only the cells below the new estimate) keeps the usual figure well
 * under that: after 100,000 distinct keys in one window, a new key is counted exactly or one too high (0.1% two);
 * after a million, 5 to 8 too high. Cells are 32-bit, so a sketch is 1 MiB (an ArrayBuffer, outside the V8 heap),
 * one per window length, only while keys are past the cap in its window.
 */
const SKETCH_WIDTH = 1 << 16
const SKETCH_DEPTH = 4

/** Hit counts of keys past the cap in the one window that began at `start`, in fixed memory. */
class Sketch {
  readonly #cells = new Uint32Array(SKETCH_WIDTH * SKETCH_DEPTH)

  constructor(readonly start: number) {}

  /** The count of the key of `hash`, from the row where it is lowest: every row counts the key, and others with it. */
  estimate(hash: Uint32Array): number {
    let estimate = Infinity
    for (let row = 0; row < SKETCH_DEPTH; row++) estimate = Math.min(estimate, this.#cells[cell(hash, row)]!)
    return estimate
  }

  /** Adds one hit to the key of `hash` and returns its new estimate. */
  add(hash: Uint32Array): number {
    const estimate = this.estimate(hash) + 1
    for (let row = 0; row < SKETCH_DEPTH; row++) {
      const i = cell(hash, row)
      if (this.#cells[i]! < estimate) this.#cells[i] = estimate
    }
    return estimate
  }
}

/** The cell of row `row`: its own 16 bits of the 64-bit hash, so the rows are independent. */
const cell = (hash: Uint32Array, row: number): number =>
  row * SKETCH_WIDTH + ((hash[row >> 1]! >>> ((row & 1) * 16)) & (SKETCH_WIDTH - 1))

/** Everything kept for the windows of one length. */
interface Lane {
  /**
   * Exact windows in the order they began. Windows of one length that begin later end later, so ended ones are
   * at the head; across lengths they would not be (an hour window begun first would hold back every minute
   * window behind it). One no longer in the map (its key has a newer window since) is skipped.
   */
  readonly queue: Queue<Window>
  /** The sketch of the current window, once a key has been past the cap in it. */
  sketch: Sketch | undefined
}

/**
 * Fixed-window counters for a single Node process.
 *
 * Windows are aligned on multiples of their length (src/store/windows.ts), as on every other store, so that
 * replicas agree on which window a hit falls in. Up to `maxKeys` windows are counted exactly, in a Map; ended
 * ones are swept from the head of their length's queue. An unexpired window is never dropped to make room: a
 * flood of distinct numbers (each one refused, so costing its sender nothing) would reset the window of the
 * number under attack and let it through again. Keys that come while the Map is full are counted in a count-min
 * sketch of their window instead, which never counts low, so under such a flood a limit may be applied a little
 * early but is never lifted. The sketch's hash is keyed with a random key per instance, so nobody can pick keys
 * that collide on purpose.
 *
 * The queues, not the Map's own order, because walking a Map from its front passes every entry deleted since V8
 * last compacted it: with a flood of distinct numbers at the cap, each hit cost hundreds of microseconds.
 */
export class MemoryRateCounters implements RateCounters {
  readonly local = true
  readonly #windows = new Map<string, Window>()
  readonly #lanes = new Map<number, Lane>()
  readonly #clock: Clock
  readonly #maxKeys: number
  readonly #hashKey = crypto.getRandomValues(new Uint32Array(2))
  readonly #hash = new Uint32Array(2)
  #sketched = 0

  constructor(options: MemoryRateCountersOptions) {
    const maxKeys = options.maxKeys ?? 100_000
    if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new Error('maxKeys must be a positive integer')
    this.#clock = options.clock
    this.#maxKeys = maxKeys
  }

  stats(): MemoryRateCountersStats {
    return { exact: this.#windows.size, sketched: this.#sketched }
  }

  async clear(): Promise<void> {
    this.#windows.clear()
    this.#lanes.clear()
    this.#sketched = 0
  }

  async hit(key: string, windowMs: number): Promise<number> {
    checkWindow(windowMs)
    const now = this.#clock.now()
    const start = windowStart(now, windowMs)
    // The length is part of the name: a minute and an hour window of one key are two counters.
    const id = `${windowMs}:${key}`
    const window = this.#windows.get(id)
    if (isCurrent(window, start)) return ++window.count
    this.#sweep(now)
    if (window !== undefined) this.#windows.delete(id)
    let lane = this.#lanes.get(windowMs)
    if (lane === undefined) this.#lanes.set(windowMs, (lane = { queue: new Queue(), sketch: undefined }))
    // The sweep has just dropped the sketch of an ended window, so one still here counts this window (or a later
    // one, were the clock to step back: a count too high, never too low).
    const sketch = lane.sketch
    if (this.#windows.size < this.#maxKeys) {
      // A key may have been counted in the sketch earlier in this window, while the Map was full: it goes on
      // from there, as starting at one would lift its limit.
      const count = sketch === undefined ? 1 : sketch.estimate(this.#hashOf(id)) + 1
      const begun: Window = { id, start, count }
      this.#windows.set(id, begun)
      lane.queue.push(begun)
      return count
    }
    this.#sketched++
    return (sketch ?? (lane.sketch = new Sketch(start))).add(this.#hashOf(id))
  }

  /** Forgets ended windows (a bounded number per hit) and the sketches of ended windows. */
  #sweep(now: number) {
    let budget = SWEEP_PER_HIT
    for (const [windowMs, lane] of this.#lanes) {
      if (lane.sketch !== undefined && hasEnded(lane.sketch.start, windowMs, now)) lane.sketch = undefined
      for (; budget > 0; budget--) {
        const oldest = lane.queue.peek()
        if (oldest === undefined || !hasEnded(oldest.start, windowMs, now)) break
        lane.queue.shift()
        if (this.#windows.get(oldest.id) === oldest) this.#windows.delete(oldest.id)
      }
      if (lane.queue.length === 0 && lane.sketch === undefined) this.#lanes.delete(windowMs)
    }
  }

  #hashOf(id: string): Uint32Array {
    halfSipHash64(id, this.#hashKey, this.#hash)
    return this.#hash
  }
}

const rotl = (x: number, b: number) => (x << b) | (x >>> (32 - b))

/** `rounds` SipRounds on the state `v` (v0..v3). */
const sipRounds = (v: Int32Array, rounds: number) => {
  let v0 = v[0]!
  let v1 = v[1]!
  let v2 = v[2]!
  let v3 = v[3]!
  for (let i = 0; i < rounds; i++) {
    v0 = (v0 + v1) | 0
    v1 = rotl(v1, 5) ^ v0
    v0 = rotl(v0, 16)
    v2 = (v2 + v3) | 0
    v3 = rotl(v3, 8) ^ v2
    v0 = (v0 + v3) | 0
    v3 = rotl(v3, 7) ^ v0
    v2 = (v2 + v1) | 0
    v1 = rotl(v1, 13) ^ v2
    v2 = rotl(v2, 16)
  }
  v[0] = v0
  v[1] = v1
  v[2] = v2
  v[3] = v3
}

const state = new Int32Array(4)

/**
 * HalfSipHash-2-4 with its 64-bit output (Aumasson and Bernstein's reference `halfsiphash` with outlen 8) of `text`
 * as UTF-16LE, under the 64-bit `key`, written to `out`. A keyed function: without the key nobody can choose texts
 * that collide, unlike a seeded MurmurHash, some of whose collisions hold for every seed. It needs only 32-bit
 * arithmetic, which JavaScript does cheaply.
 */
export const halfSipHash64 = (text: string, key: Uint32Array, out: Uint32Array): void => {
  const k0 = key[0]!
  const k1 = key[1]!
  state[0] = k0
  state[1] = k1 ^ 0xee
  state[2] = k0 ^ 0x6c796765
  state[3] = k1 ^ 0x74656462
  const length = text.length
  let i = 0
  for (; i + 1 < length; i += 2) {
    const m = text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16)
    state[3] = state[3]! ^ m
    sipRounds(state, 2)
    state[0] = state[0]! ^ m
  }
  // The last block: the bytes left over, and the length in bytes (mod 256) in its top byte.
  const last = ((length * 2) << 24) | (i < length ? text.charCodeAt(i) : 0)
  state[3] = state[3]! ^ last
  sipRounds(state, 2)
  state[0] = state[0]! ^ last
  state[2] = state[2]! ^ 0xee
  sipRounds(state, 4)
  out[0] = state[1]! ^ state[3]!
  state[1] = state[1]! ^ 0xdd
  sipRounds(state, 4)
  out[1] = state[1]! ^ state[3]!
}
