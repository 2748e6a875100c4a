/**
 * The load generator, on `node:http` with a keep-alive Agent. Three shapes:
 *
 * - `openLoop`: a fixed offered rate. Request i is due at `start + i/rate`, sent then (or as soon as the timer
 *   wakes), and its latency runs from when it was DUE, not from when it went out: a stalled server delays every
 *   request behind it, and each of those counts the stall (no coordinated omission).
 * - `closedLoop`: saturation. `concurrency` requests in flight, each followed by the next as soon as it answers.
 * - `burst`: `calls.length` requests at once, each on its own connection opened beforehand (GoTrue keeps its
 *   connections alive), timed from when each was written until its whole answer arrived.
 *
 * Each reports the generator's own CPU (`process.cpuUsage()`), so a figure can be dismissed when the generator
 * rather than the server was the bottleneck. Every run is bounded: it stops sending at its end, waits a bounded
 * time for the answers still due, and then drops them (counted as `unanswered`).
 */
import http from 'node:http'
import { answerStatus, dueAt, dueBy } from './stats.js'
import type { SignedCall } from './gotrue.js'

export interface Target {
  host: string
  port: number
  path: string
}

export const targetOf = (url: string, path = '/send-sms'): Target => {
  const u = new URL(url)
  return { host: u.hostname, port: Number(u.port), path }
}

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
  pending: Set<http.ClientRequest>
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
  pending: new Set(),
})

/** Sends one call; `from` is the time its latency counts from; `done` runs once, answered or not. */
const send = (agent: http.Agent, target: Target, call: SignedCall, tracker: Tracker, from: number, done: () => void) => {
  const { result, pending } = tracker
  result.sent++
  const sentAt = performance.now()
  let settled = false
  const settle = (status: number | undefined, error?: string) => {
    if (settled) return
    settled = true
    pending.delete(req)
    if (status !== undefined) {
      const now = performance.now()
      result.serviceTimes[result.answered] = now - sentAt
      result.latencies[result.answered++] = now - from
      result.statuses[status] = (result.statuses[status] ?? 0) + 1
    } else {
      result.unanswered++
      const key = error ?? 'error'
      result.errors[key] = (result.errors[key] ?? 0) + 1
    }
    done()
  }
  const req = http.request(
    { agent, host: target.host, port: target.port, path: target.path, method: 'POST', headers: call.headers },
    (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('error', (e: NodeJS.ErrnoException) => settle(undefined, e.code ?? e.message))
      res.on('end', () => settle(answerStatus(res.statusCode ?? 0, body)))
    },
  )
  req.on('error', (e: NodeJS.ErrnoException) => settle(undefined, e.code ?? e.message))
  pending.add(req)
  req.end(call.body)
}

/** Waits until nothing is pending or `limitMs` passed; then drops what is left, counting it unanswered. */
const drain = (tracker: Tracker, limitMs: number) =>
  new Promise<void>((resolve) => {
    const deadline = performance.now() + limitMs
    const check = () => {
      if (tracker.pending.size === 0) return resolve()
      if (performance.now() >= deadline) {
        for (const req of [...tracker.pending]) req.destroy(new Error('no answer before the run ended'))
        return resolve()
      }
      setTimeout(check, 5)
    }
    check()
  })

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
  /** Connections the Agent may open (requests beyond them queue in the generator, their latency running). */
  maxSockets?: number
  /** How long to wait for the last answers after the last send. Default 10 s. */
  drainMs?: number
}

/** A fixed offered rate, on a schedule. */
export const openLoop = async (options: OpenLoopOptions): Promise<LoadResult> => {
  const { target, rate, calls } = options
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 64 })
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
        send(agent, target, calls[i]!, tracker, dueAt(start, rate, i), noop)
      }
      if (next >= calls.length) return resolve()
      // Timers wake at millisecond granularity: whatever fell due meanwhile goes out on the next tick, and its
      // latency still counts from when it was due.
      setTimeout(tick, Math.max(0, dueAt(start, rate, next) - performance.now()))
    }
    tick()
  })
  await drain(tracker, options.drainMs ?? 10_000)
  const result = finish(tracker, start, cpuBefore)
  agent.destroy()
  return result
}

export interface ClosedLoopOptions {
  target: Target
  /** Requests in flight at all times. */
  concurrency: number
  /** Sending stops after this long (or when `calls` run out). */
  durationMs: number
  calls: SignedCall[]
  drainMs?: number
}

/** As fast as the server answers: each answer releases the next request. Latency counts from each send. */
export const closedLoop = async (options: ClosedLoopOptions): Promise<LoadResult> => {
  const { target, calls, concurrency } = options
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency })
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
      send(agent, target, calls[next++]!, tracker, performance.now(), () => {
        active--
        launch()
      })
    }
    for (let i = 0; i < concurrency; i++) launch()
    if (active === 0) resolve()
  })
  await drain(tracker, options.drainMs ?? 10_000)
  const result = finish(tracker, start, cpuBefore)
  agent.destroy()
  return result
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
 * Many hooks at once: opens one connection per call first (a GET /healthz on each), then writes every call in
 * the same turn of the event loop. Latency runs from each call's write to its whole answer.
 */
export const burst = async (options: BurstOptions): Promise<LoadResult> => {
  const total = options.targets.reduce((n, t) => n + t.calls.length, 0)
  const tracker = newTracker(total)
  const agents = options.targets.map(({ calls }) => new http.Agent({ keepAlive: true, maxSockets: calls.length }))
  // Warm every connection: as many GETs in flight as there will be calls, so the Agent holds that many sockets.
  await Promise.all(
    options.targets.flatMap(({ target, calls }, t) =>
      calls.map(
        () =>
          new Promise<void>((resolve, reject) => {
            const req = http.get({ agent: agents[t], host: target.host, port: target.port, path: '/healthz' }, (res) => {
              res.resume()
              res.on('end', resolve)
            })
            req.on('error', reject)
            req.setTimeout(10_000, () => req.destroy(new Error('connection warm-up timed out')))
          }),
      ),
    ),
  )
  const cpuBefore = process.cpuUsage()
  const start = performance.now()
  options.targets.forEach(({ target, calls }, t) => {
    for (const call of calls) send(agents[t]!, target, call, tracker, performance.now(), noop)
  })
  await drain(tracker, options.limitMs ?? 15_000)
  const result = finish(tracker, start, cpuBefore)
  for (const agent of agents) agent.destroy()
  return result
}

const noop = () => {}
