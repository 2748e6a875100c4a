/**
 * The load generator, on an undici Pool (HTTP/1.1 keep-alive, no pipelining, as GoTrue's Go client sends). Three
 * shapes:
 *
 * - `openLoop`: a fixed offered rate. Request i is due at `start + i/rate`, sent then (or as soon as the timer
 *   wakes), and its latency runs from when it was DUE, not from when it went out: a stalled server delays every
 *   request behind it, and each of those counts the stall (no coordinated omission).
 * - `closedLoop`: saturation. `concurrency` requests in flight, each followed by the next as soon as it answers.
 * - `burst`: `calls.length` requests at once, each on its own connection opened beforehand (GoTrue keeps its
 *   connections alive), timed from when each was written until its whole answer arrived.
 *
 * Requests go through undici's `dispatch`, the cheapest way to send with it (about 16 µs of the generator's CPU a
 * request here, against about 25 µs for node:http), which matters at saturation, where the generator shares two
 * cores with the server. Each run reports the generator's own CPU (`process.cpuUsage()`), so a figure can be
 * dismissed when the generator rather than the server was the bottleneck. Every run is bounded: it stops sending
 * at its end, waits a bounded time for the answers still due, then drops them (counted as `unanswered`).
 */
import { Pool } from 'undici'
import { answerStatus, dueAt, dueBy } from './stats.js'
import type { SignedCall } from './gotrue.js'

export interface Target {
  /** `http://127.0.0.1:<port>` */
  origin: string
  path: string
}

export const targetOf = (url: string, path = '/send-sms'): Target => ({ origin: new URL(url).origin, path })

export interface LoadResult {
  sent: number
  answered: number
  /** Answers by the status GoTrue reads from them (`answerStatus`). */
  statuses: Record<number, number>
  /** Requests that got no answer: a socket error, or still waiting when the run's drain time ran out. */
  unanswered: number
  errors: Record<string, number>
  /** Latency of each answered request in ms, in answer order: from when it was due (open loop) or sent. */
  latencies: Float64Array
  /** The same from when each request was actually written (differs from `latencies` in the open loop only). */
  serviceTimes: Float64Array
  /** Wall time from the first send to the last answer (or the drain limit), ms. */
  elapsedMs: number
  /** The generator's CPU over the run, in cores (CPU seconds per second of wall time). */
  clientCores: number
}

interface Tracker {
  result: LoadResult
  pending: number
}

const newTracker = (capacity: number): Tracker => ({
  result: {
    sent: 0,
    answered: 0,
    statuses: {},
    unanswered: 0,
    errors: {},
    latencies: new Float64Array(capacity),
    serviceTimes: new Float64Array(capacity),
    elapsedMs: 0,
    clientCores: 0,
  },
  pending: 0,
})

const newPool = (target: Target, connections: number) =>
  new Pool(target.origin, { connections, pipelining: 1, keepAliveTimeout: 30_000 })

/** Sends one call; `from` is the time its latency counts from; `done` runs once, answered or not. */
const send = (pool: Pool, target: Target, call: SignedCall, tracker: Tracker, from: number, done: () => void) => {
  const { result } = tracker
  result.sent++
  tracker.pending++
  const sentAt = performance.now()
  let status = 0
  let body = ''
  let settled = false
  const settle = (answer: number | undefined, error?: string) => {
    if (settled) return
    settled = true
    tracker.pending--
    if (answer !== undefined) {
      const now = performance.now()
      result.serviceTimes[result.answered] = now - sentAt
      result.latencies[result.answered++] = now - from
      result.statuses[answer] = (result.statuses[answer] ?? 0) + 1
    } else {
      result.unanswered++
      const key = error ?? 'error'
      result.errors[key] = (result.errors[key] ?? 0) + 1
    }
    done()
  }
  pool.dispatch(
    { origin: target.origin, path: target.path, method: 'POST', headers: call.headers, body: call.body },
    {
      onRequestStart() {},
      onResponseStart(_controller, statusCode) {
        status = statusCode
      },
      onResponseData(_controller, chunk) {
        body += chunk.toString()
      },
      onResponseEnd() {
        settle(answerStatus(status, body))
      },
      onResponseError(_controller, error: Error & { code?: string }) {
        settle(undefined, error.code ?? error.message)
      },
    },
  )
}

/** Waits until nothing is pending or `limitMs` passed; then closes `pools`, which fails what is left (unanswered). */
const drain = async (tracker: Tracker, pools: Pool[], limitMs: number) => {
  const deadline = performance.now() + limitMs
  while (tracker.pending > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5))
  await Promise.all(pools.map((pool) => pool.destroy(new Error('no answer before the run ended'))))
}

const finish = (tracker: Tracker, startedAt: number, cpuBefore: NodeJS.CpuUsage): LoadResult => {
  const { result } = tracker
  result.elapsedMs = performance.now() - startedAt
  const cpu = process.cpuUsage(cpuBefore)
  result.clientCores = (cpu.user + cpu.system) / 1000 / result.elapsedMs
  result.latencies = result.latencies.slice(0, result.answered)
  result.serviceTimes = result.serviceTimes.slice(0, result.answered)
  return result
}

export interface OpenLoopOptions {
  target: Target
  /** Requests per second offered. */
  rate: number
  /** One call per request; the run lasts `calls.length / rate` seconds. */
  calls: SignedCall[]
  /** Connections the Pool may open (requests beyond them queue in the generator, their latency running). */
  connections?: number
  /** How long to wait for the last answers after the last send. Default 10 s. */
  drainMs?: number
}

/** A fixed offered rate, on a schedule. */
export const openLoop = async (options: OpenLoopOptions): Promise<LoadResult> => {
  const { target, rate, calls } = options
  const pool = newPool(target, options.connections ?? 64)
  const tracker = newTracker(calls.length)
  const cpuBefore = process.cpuUsage()
  const start = performance.now()
  await new Promise<void>((resolve) => {
    let next = 0
    const tick = () => {
      const now = performance.now()
      const due = dueBy(rate, now - start, calls.length)
      while (next < due) {
        const i = next++
        send(pool, target, calls[i]!, tracker, dueAt(start, rate, i), noop)
      }
      if (next >= calls.length) return resolve()
      // Timers wake at millisecond granularity: whatever fell due meanwhile goes out on the next tick, and its
      // latency still counts from when it was due.
      setTimeout(tick, Math.max(0, dueAt(start, rate, next) - performance.now()))
    }
    tick()
  })
  await drain(tracker, [pool], options.drainMs ?? 10_000)
  return finish(tracker, start, cpuBefore)
}

export interface ClosedLoopOptions {
  target: Target
  /** Requests in flight at all times, each on its own connection. */
  concurrency: number
  /** Sending stops after this long (or when `calls` run out). */
  durationMs: number
  calls: SignedCall[]
  drainMs?: number
}

/** As fast as the server answers: each answer releases the next request. Latency counts from each send. */
export const closedLoop = async (options: ClosedLoopOptions): Promise<LoadResult> => {
  const { target, calls, concurrency } = options
  const pool = newPool(target, concurrency)
  const tracker = newTracker(calls.length)
  const cpuBefore = process.cpuUsage()
  const start = performance.now()
  const stopAt = start + options.durationMs
  let next = 0
  await new Promise<void>((resolve) => {
    let active = 0
    const launch = () => {
      if (next >= calls.length || performance.now() >= stopAt) {
        if (active === 0) resolve()
        return
      }
      active++
      send(pool, target, calls[next++]!, tracker, performance.now(), () => {
        active--
        launch()
      })
    }
    for (let i = 0; i < concurrency; i++) launch()
    if (active === 0) resolve()
  })
  await drain(tracker, [pool], options.drainMs ?? 10_000)
  return finish(tracker, start, cpuBefore)
}

export interface BurstTarget {
  target: Target
  calls: SignedCall[]
}

export interface BurstOptions {
  /** One or more servers, each with its own calls; everything is sent at the same moment. */
  targets: BurstTarget[]
  /** Gives up on answers this long after sending. Default 15 s. */
  limitMs?: number
}

/**
 * Many hooks at once: opens one connection per call first (as many GET /healthz in flight as there will be
 * calls), then writes every call in the same turn of the event loop. Latency runs from each call's write to its
 * whole answer.
 */
export const burst = async (options: BurstOptions): Promise<LoadResult> => {
  const total = options.targets.reduce((n, t) => n + t.calls.length, 0)
  const tracker = newTracker(total)
  const pools = options.targets.map(({ target, calls }) => newPool(target, calls.length))
  await Promise.all(
    options.targets.flatMap(({ target, calls }, t) =>
      calls.map(async () => {
        const res = await pools[t]!.request({ path: '/healthz', method: 'GET', headersTimeout: 10_000 })
        await res.body.dump()
        if (res.statusCode !== 200) throw new Error(`${target.origin}/healthz answered ${res.statusCode}`)
      }),
    ),
  )
  const cpuBefore = process.cpuUsage()
  const start = performance.now()
  options.targets.forEach(({ target, calls }, t) => {
    for (const call of calls) send(pools[t]!, target, call, tracker, performance.now(), noop)
  })
  await drain(tracker, pools, options.limitMs ?? 15_000)
  return finish(tracker, start, cpuBefore)
}

const noop = () => {}
