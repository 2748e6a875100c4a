/**
 * Preloaded into every server the benchmark starts (`node --import <tsx> --import bench/probe.ts`); never part of
 * the service.
 *
 * Always: exits when the benchmark that started the process is gone (its parent changed), so that even a
 * benchmark killed with SIGKILL leaves no server behind.
 *
 * With BENCH_PROBE_DIR set (and `--expose-gc`): a control channel. On SIGUSR2 the probe reads
 * `$BENCH_PROBE_DIR/command.json`, does what it says, and writes `report-<id>.json` there:
 * - the GC pauses seen since the last reset (a `PerformanceObserver` on `gc` entries): count, mean, max, total;
 * - with `gc: true`, `process.memoryUsage()` after two forced full collections;
 * - with `shiftClockMs`, moves `Date.now()` that far ahead for the rest of the process's life, which is how the
 *   benchmark lets the idempotency keys' 10-minute TTL pass without waiting for it (the service reads time
 *   through `Date.now()`; timers, which use a monotonic clock, are not affected).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PerformanceObserver } from 'node:perf_hooks'

export interface ProbeCommand {
  /** Run two full GCs, then report `process.memoryUsage()`. */
  gc?: boolean
  /** Start counting GC pauses afresh after this report. */
  resetGc?: boolean
  /** Move Date.now() this many ms ahead (cumulative). */
  shiftClockMs?: number
}

export interface GcPauses {
  count: number
  meanMs: number
  maxMs: number
  totalMs: number
  /** Over how long they were counted, ms. */
  windowMs: number
}

export interface ProbeReport {
  id: number
  memory?: NodeJS.MemoryUsage
  gcPauses: GcPauses
  clockShiftMs: number
}

const parent = process.ppid
setInterval(() => {
  if (process.ppid !== parent) process.exit(1)
}, 1000).unref()

const dir = process.env.BENCH_PROBE_DIR
if (dir) {
  let pauses: number[] = []
  let since = performance.now()
  /** When the probe forced collections itself: GC entries inside these windows are not the service's pauses. */
  const forced: Array<[number, number]> = []
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (!forced.some(([from, to]) => entry.startTime >= from && entry.startTime <= to)) pauses.push(entry.duration)
    }
  }).observe({ entryTypes: ['gc'] })

  let shiftMs = 0
  const realNow = Date.now
  const shiftClock = (ms: number) => {
    shiftMs += ms
    Date.now = () => realNow() + shiftMs
  }

  const gc = (globalThis as { gc?: () => void }).gc
  process.on('SIGUSR2', () => {
    const command = JSON.parse(readFileSync(join(dir, 'command.json'), 'utf8')) as ProbeCommand & { id: number }
    const total = pauses.reduce((a, b) => a + b, 0)
    const gcPauses: GcPauses = {
      count: pauses.length,
      meanMs: pauses.length === 0 ? 0 : total / pauses.length,
      maxMs: pauses.length === 0 ? 0 : Math.max(...pauses),
      totalMs: total,
      windowMs: performance.now() - since,
    }
    let memory: NodeJS.MemoryUsage | undefined
    if (command.gc) {
      if (!gc) throw new Error('bench probe: run with --expose-gc')
      const from = performance.now()
      gc()
      gc()
      forced.push([from, performance.now()])
      memory = process.memoryUsage()
    }
    if (command.resetGc) {
      pauses = []
      since = performance.now()
    }
    if (command.shiftClockMs) shiftClock(command.shiftClockMs)
    const report: ProbeReport = { id: command.id, memory, gcPauses, clockShiftMs: shiftMs }
    const out = join(dir, `report-${command.id}.json`)
    writeFileSync(`${out}.tmp`, JSON.stringify(report))
    renameSync(`${out}.tmp`, out)
  })
}
