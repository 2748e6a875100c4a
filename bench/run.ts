/**
 * `npm run bench`: the service's performance targets, measured against a bare Hono POST handler on
 * @hono/node-server in the same run, and printed as one table (also written to BENCHMARKS.md).
 *
 *   npm run bench                  every part (about 5 minutes on 2 cores)
 *   npm run bench -- --check       the same, exiting 1 when a target is missed
 *   npm run bench -- --quick       short rounds and 10,000 keys: a smoke run; BENCHMARKS.md is left alone
 *   npm run bench -- --only main,overload,redis,unsigned,receipts,cold   some parts only (--only cold rewrites its
 *                                  own section of BENCHMARKS.md; other partial runs leave the file alone)
 *
 * Parts:
 * - main: the hook (memory store, console provider) and the bare handler, and the hook with REDIS_URL when the
 *   service uses it, alternating in every round: server CPU per request at 2,000 req/s offered and at saturation,
 *   latency at 1,000 req/s, GC pauses at 2,500 req/s; and, on a hook of its own, heap per idempotency key and
 *   after the keys expire;
 * - overload: 300 and 1,000 hooks at once against a vendor that never answers and one that takes 1 s;
 * - redis: two hook instances sharing one Redis, and the raw cost of the store's Redis scripts;
 * - unsigned: server CPU per request of an unsigned 2 MiB call (no webhook headers, Content-Length 2 MiB)
 *   against a signed small one, alternating in every round: what junk at the body limit costs, since the
 *   header checks run before the body is read;
 * - receipts: the hook's CPU per request with delivery records on against off, and Alibaba Cloud delivery reports
 *   taken per second per core (bench/receipts.ts);
 * - cold: the time from process start to the first answered signed hook, and RSS then, of the built service
 *   (console provider, Alibaba Cloud on each transport, Redis state) against a bare Hono server (bench/cold-start.ts).
 *
 * Only 127.0.0.1 is ever sent to; every run is bounded in count and time; every process started is ended.
 */
import { randomUUID } from 'node:crypto'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import { FakeVendorClient, twilioEnv } from './fake-vendor.js'
import { resigned, SECRET, signedCalls, type SignedCall } from './gotrue.js'
import { coldStartPart } from './cold-start.js'
import { receiptsPart } from './receipts.js'
import { burst, closedLoop, openLoop, targetOf, type LoadResult } from './load.js'
import type { GcPauses } from './probe.js'
import { failed, machine, table, verdictOf, writeColdSection, writeReport, type Row } from './report.js'
import {
  installCleanup,
  killAll,
  runningChildren,
  stopStartedSince,
  machineBusySeconds,
  ownCpuSeconds,
  ROOT,
  sleep,
  startFakeVendor,
  startRedis,
  startServer,
  type Proc,
  type RedisServer,
  type Server,
} from './servers.js'
import { num, pairwise, percentile, showSpread, sortedCopy, spread } from './stats.js'

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    check: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
})
const PARTS = ['main', 'overload', 'redis', 'unsigned', 'receipts', 'cold'] as const
type Part = (typeof PARTS)[number]
const only = new Set((flags.only ?? PARTS.join(',')).split(',').map((p) => p.trim()))
for (const part of only)
  if (!PARTS.includes(part as Part)) throw new Error(`--only takes ${PARTS.join(', ')}; got "${part}"`)
const runs = (part: Part) => only.has(part)

const quick = flags.quick
const S = {
  rounds: quick ? 2 : 5,
  cpuRate: 2000,
  cpuMs: quick ? 1000 : 4000,
  latencyRate: 1000,
  latencyMs: quick ? 1000 : 3000,
  gcRate: 2500,
  gcMs: quick ? 1000 : 3000,
  saturationMs: quick ? 1000 : 3000,
  saturationConcurrency: 32,
  /** Calls before anything is measured (JIT, connections); also the keys present when the heap's base is read. */
  warmup: 2000,
  /** Idempotency keys held during the main part, and the store's cap (SMS_HOOK_IDEMPOTENCY_MAX_KEYS). */
  keys: quick ? 10_000 : 100_000,
  overload: [300, 1000],
  shared: 200,
  rawSequences: quick ? 500 : 2000,
  redisMemoryKeys: quick ? 10_000 : 100_000,
  /** Part unsigned: calls of each kind per round (the round also stops after `unsignedMs`), in flight at once. */
  unsignedCalls: quick ? 200 : 1000,
  unsignedMs: quick ? 1000 : 3000,
  unsignedConcurrency: 4,
  /** Part cold: counted rounds, each starting every variant once. */
  coldRounds: quick ? 2 : 15,
}
/** The service's body limit (src/hook/handler.ts MAX_BODY_BYTES): the largest junk it would otherwise take. */
const BODY_LIMIT = 2 * 1024 * 1024
/** Past the service's 10-minute idempotency TTL. */
const EXPIRY_SHIFT_MS = 11 * 60 * 1000
const DEADLINE_MS = 5000

const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`
const rows: Row[] = []
const notes: string[] = []
const coldNotes: string[] = []
const log = (line: string) => console.log(line)

/** The hook as the issue measures it: production, console provider, warn-level log, the cap at `S.keys`. */
const hookEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
  NODE_ENV: 'production',
  GOTRUE_SMS_PROVIDER: 'console',
  GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET,
  LOG_LEVEL: 'warn',
  SMS_HOOK_IDEMPOTENCY_MAX_KEYS: String(S.keys),
  ...extra,
})

// ---------------------------------------------------------------------------------------------------------------
// One measured run against one server

interface Measured {
  load: LoadResult
  /** Server CPU per answered request, µs. */
  cpuUs: number
  /** How busy the server was, in cores: near 1 at saturation (one JavaScript thread), unless the generator was the limit. */
  serverCores: number
  /** redis-server CPU per answered request, µs (rounds of the hook with Redis). */
  redisCpuUs: number
  p50: number
  p99: number
  /** p50 and p99 from each request's actual send (the open loop's timer wakes up to ~1 ms after a request is due). */
  sendP50: number
  sendP99: number
  rps: number
  /** CPU the rest of the machine (processes the benchmark did not start) used meanwhile, in cores. */
  othersCores: number
  /** What went wrong, if any answer was not a success. */
  problem: string | undefined
  gc?: GcPauses
}

const describe = (statuses: Record<number, number>) =>
  Object.entries(statuses)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([status, n]) => `${status}×${num(n)}`)
    .join(', ')

const problemOf = (load: LoadResult): string | undefined => {
  const bad = Object.entries(load.statuses).filter(([status]) => status !== '200')
  if (bad.length === 0 && load.unanswered === 0) return undefined
  const errors = Object.entries(load.errors).map(([e, n]) => `${e}×${n}`)
  return `answers ${describe(load.statuses)}${load.unanswered ? `; no answer ${load.unanswered} (${errors.join(', ')})` : ''}`
}

const measure = async (server: Server, run: () => Promise<LoadResult>, redis?: Proc): Promise<Measured> => {
  const cpu0 = server.cpuSeconds()
  const redis0 = redis?.cpuSeconds() ?? Number.NaN
  const busy0 = machineBusySeconds()
  const own0 = ownCpuSeconds()
  const load = await run()
  // Never below 0: the two readings differ by a clock tick or so, which is not negative load.
  const othersCores = Math.max(0, (machineBusySeconds() - busy0 - (ownCpuSeconds() - own0)) / (load.elapsedMs / 1000))
  const serverCpu = server.cpuSeconds() - cpu0
  const cpuUs = (serverCpu / load.answered) * 1e6
  const redisCpuUs = redis ? ((redis.cpuSeconds() - redis0) / load.answered) * 1e6 : Number.NaN
  const sorted = sortedCopy(load.latencies)
  const fromSend = sortedCopy(load.serviceTimes)
  return {
    load,
    cpuUs,
    serverCores: serverCpu / (load.elapsedMs / 1000),
    redisCpuUs,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    sendP50: percentile(fromSend, 50),
    sendP99: percentile(fromSend, 99),
    rps: load.answered / (load.elapsedMs / 1000),
    othersCores,
    problem: problemOf(load),
  }
}

interface Side {
  name: string
  server: Server
  redis?: Proc
}

/**
 * `S.rounds` rounds; in each, every side runs once, the order rotating from round to round, so that drift in
 * the machine (another tenant, thermal, the kernel) lands on every side alike.
 */
const alternate = async (label: string, sides: Side[], one: (side: Side) => Promise<Measured>) => {
  const results = new Map<string, Measured[]>(sides.map((s) => [s.name, []]))
  for (let round = 0; round < S.rounds; round++) {
    const order = [...sides.slice(round % sides.length), ...sides.slice(0, round % sides.length)]
    for (const side of order) {
      const m = await one(side)
      results.get(side.name)!.push(m)
      othersCores.push(m.othersCores)
      log(
        `  ${label} round ${round + 1}/${S.rounds} ${side.name.padEnd(11)} ${num(m.rps).padStart(6)} req/s  ` +
          `p50 ${m.p50.toFixed(2)} ms  p99 ${m.p99.toFixed(2)} ms  server ${m.cpuUs.toFixed(1)} µs/req (${m.serverCores.toFixed(2)} cores)` +
          `${Number.isNaN(m.redisCpuUs) ? '' : `  redis ${m.redisCpuUs.toFixed(1)} µs/req`}` +
          `  generator ${m.load.clientCores.toFixed(2)} cores  others ${m.othersCores.toFixed(2)} cores${m.gc ? `  GC ${m.gc.count} pauses, max ${m.gc.maxMs.toFixed(1)} ms` : ''}` +
          `${m.problem ? `  !! ${m.problem}` : ''}`,
      )
      await sleep(200)
    }
  }
  return results
}

const of = (ms: Measured[], f: (m: Measured) => number) => spread(ms.map(f))

/** How the table shows each measure of a side's rounds: its digits and unit. */
const SHOWN = {
  cpuUs: [1, ' µs'],
  redisCpuUs: [1, ' µs'],
  rps: [0, ' req/s'],
  serverCores: [2, ' core'],
  p50: [2, ' ms'],
  p99: [2, ' ms'],
} as const

/** One measure over a side's rounds, as the table shows it: `show(h(latency), 'p50')`. */
const show = (ms: Measured[], field: keyof typeof SHOWN) => {
  const [digits, unit] = SHOWN[field]
  return showSpread(
    of(ms, (m) => m[field]),
    digits,
    unit,
  )
}

const problems = (...sets: Measured[][]) => [...new Set(sets.flat().flatMap((m) => (m.problem ? [m.problem] : [])))]

/** What the rest of the machine used in every round: the benchmark cannot stop it, only show it. */
const othersCores: number[] = []

/** The generator's CPU in every open-loop round, to tell whether it stayed under half a core. */
const generatorCores: { phase: string; cores: number }[] = []

// ---------------------------------------------------------------------------------------------------------------
// Part "main"

const heapOf = async (server: Server) => (await server.probe!({ gc: true })).memory!.heapUsed

/** Sends `count` fresh calls as fast as the server takes them; throws when any is not a success. */
const fill = async (server: Server, count: number, what: string, clockOffsetMs = 0) => {
  let done = 0
  const started = performance.now()
  while (done < count) {
    const batch = Math.min(20_000, count - done)
    const load = await closedLoop({
      target: targetOf(server.url),
      concurrency: S.saturationConcurrency,
      durationMs: 120_000,
      calls: signedCalls(batch, clockOffsetMs),
    })
    const problem = problemOf(load)
    if (problem) throw new Error(`${server.name}, ${what}: ${problem}`)
    done += load.answered
  }
  return count / ((performance.now() - started) / 1000)
}

const mainPart = async (redis: RedisServer | undefined, redisError: string | undefined) => {
  log('\n== main: the hook against the bare handler')
  const probe = true
  const bare = await startServer('bare', 'bench/bare-server.mjs', { probe })
  const hook = await startServer('hook', 'src/node/main.ts', { probe, env: hookEnv() })
  const sides: Side[] = [
    { name: 'bare', server: bare },
    { name: 'hook', server: hook },
  ]
  const redisSkip = await (async (): Promise<string | undefined> => {
    if (!redis) return redisError ?? 'redis-server is unavailable'
    const server = await startServer('hook+redis', 'src/node/main.ts', {
      probe,
      env: hookEnv({ REDIS_URL: redis.url, SMS_HOOK_REDIS_PREFIX: 'bench-main:' }),
    })
    const reason = await usesRedis(server, redis)
    if (reason) {
      await server.stop()
      return reason
    }
    sides.push({ name: 'hook+redis', server, redis })
    return undefined
  })()
  if (redisSkip) log(`  the hook with Redis is left out: ${redisSkip}`)
  const withRedis = sides.find((s) => s.name === 'hook+redis')

  // Heap per idempotency key, and after the keys expire, on a hook of its own with the guard's per-number and
  // per-address limits off: with them on, each call also leaves rate counters (hour-long windows) behind, which
  // are not idempotency keys and do not expire with them. Measured first and stopped, so it holds nothing later.
  log(`  memory: a hook with the guard's limits off, filled to ${num(S.keys)} keys`)
  const memHook = await startServer('hook (limits off)', 'src/node/main.ts', {
    probe,
    env: hookEnv({ SMS_HOOK_LIMIT_PER_NUMBER: 'off', SMS_HOOK_LIMIT_PER_IP: 'off' }),
  })
  await fill(memHook, S.warmup, 'warm-up')
  const heapBase = await heapOf(memHook)
  await fill(memHook, S.keys - S.warmup, 'filling the store')
  const heapFull = await heapOf(memHook)
  const heapPerKey = (heapFull - heapBase) / (S.keys - S.warmup)
  log(
    `  heap ${num(heapBase / 2 ** 20, 1)} MiB with ${num(S.warmup)} keys, ${num(heapFull / 2 ** 20, 1)} MiB with ${num(S.keys)}: ${num(heapPerKey)} B per key`,
  )
  // The keys' TTL passes (the probe moves the hook's clock past it), then as many new calls as at the base, each
  // of which sweeps up to 64 expired keys, and the heap is read again with as many live keys as at the base.
  await memHook.probe!({ shiftClockMs: EXPIRY_SHIFT_MS })
  await fill(memHook, S.warmup, 'after expiry', EXPIRY_SHIFT_MS)
  const heapAfter = await heapOf(memHook)
  log(
    `  clock moved ${EXPIRY_SHIFT_MS / 60_000} min ahead and ${num(S.warmup)} new calls: heap ${num(heapAfter / 2 ** 20, 1)} MiB`,
  )
  await memHook.stop()

  // The hooks compared: warm-up, then the store filled to `S.keys`, as the CPU rows require.
  for (const side of sides) await fill(side.server, S.warmup, 'warm-up')
  const hookBase = await heapOf(hook)
  log(`  filling the hook's store to ${num(S.keys)} keys...`)
  const hookFillRate = await fill(hook, S.keys - S.warmup, 'filling the store')
  const hookPerCall = ((await heapOf(hook)) - hookBase) / (S.keys - S.warmup)
  log(`  with the service's defaults: ${num(hookPerCall)} B of heap per call`)
  let redisMemory: { heapPerCall: number; redisPerKey: number } | undefined
  if (withRedis) {
    const client = redisClient(redis!)
    const heap0 = await heapOf(withRedis.server)
    const used0 = await usedMemory(client)
    log(`  filling Redis through the hook to ${num(S.keys)} keys...`)
    await fill(withRedis.server, S.keys - S.warmup, 'filling Redis')
    const heap1 = await heapOf(withRedis.server)
    const used1 = await usedMemory(client)
    redisMemory = {
      heapPerCall: (heap1 - heap0) / (S.keys - S.warmup),
      redisPerKey: (used1 - used0) / (S.keys - S.warmup),
    }
    client.disconnect()
  }

  const open = (rate: number, ms: number, phase: string) => async (side: Side) => {
    const calls = signedCalls(Math.round((rate * ms) / 1000))
    const m = await measure(side.server, () => openLoop({ target: targetOf(side.server.url), rate, calls }), side.redis)
    generatorCores.push({ phase, cores: m.load.clientCores })
    return m
  }

  log(`  CPU at ${num(S.cpuRate)} req/s offered (open loop)`)
  const cpu = await alternate('cpu', sides, open(S.cpuRate, S.cpuMs, `${num(S.cpuRate)} req/s`))
  log(`  latency at ${num(S.latencyRate)} req/s offered (open loop)`)
  const latency = await alternate('latency', sides, open(S.latencyRate, S.latencyMs, `${num(S.latencyRate)} req/s`))

  log(`  saturation (closed loop, ${S.saturationConcurrency} connections)`)
  const bareCalls = signedCalls(20_000)
  const saturationCores: number[] = []
  const saturation = await alternate('saturation', sides, async (side) => {
    // The bare handler ignores the body: it may see a call again. A hook never does (a replay is cheaper).
    const hookPool = Math.ceil((hookFillRate * 2 * S.saturationMs) / 1000)
    const calls = side.name === 'bare' ? cycle(bareCalls, 60_000 * (S.saturationMs / 1000)) : signedCalls(hookPool)
    const m = await measure(
      side.server,
      () =>
        closedLoop({
          target: targetOf(side.server.url),
          concurrency: S.saturationConcurrency,
          durationMs: S.saturationMs,
          calls,
        }),
      side.redis,
    )
    saturationCores.push(m.load.clientCores)
    return m
  })

  log(`  GC pauses at ${num(S.gcRate)} req/s offered (open loop)`)
  const gcRound = open(S.gcRate, S.gcMs, `${num(S.gcRate)} req/s`)
  const gc = await alternate('gc', sides, async (side) => {
    await side.server.probe!({ resetGc: true })
    const m = await gcRound(side)
    m.gc = (await side.server.probe!({})).gcPauses
    return m
  })

  for (const side of sides) await side.server.stop()

  // --- rows
  const b = (r: Map<string, Measured[]>) => r.get('bare')!
  const h = (r: Map<string, Measured[]>) => r.get('hook')!
  const rd = (r: Map<string, Measured[]>) => r.get('hook+redis')
  const ratio = (r: Map<string, Measured[]>) =>
    spread(
      pairwise(
        b(r).map((m) => m.cpuUs),
        h(r).map((m) => m.cpuUs),
        (x, y) => x / y,
      ),
    )
  const added = (r: Map<string, Measured[]>, other: Measured[]) =>
    spread(
      pairwise(
        other.map((m) => m.cpuUs),
        b(r).map((m) => m.cpuUs),
        (x, y) => x - y,
      ),
    )
  const keysHeld = `${num(S.keys)} keys held (cap ${num(S.keys)}), console provider, LOG_LEVEL=warn`
  const rounds = (ms: number) => `${S.rounds} alternating rounds × ${ms / 1000} s`
  const flagged = (verdict: Row['verdict'], ...sets: Measured[][]) => {
    const p = problems(...sets)
    return p.length
      ? { verdict: 'ERROR' as const, suffix: `; not all answers were successes: ${p.join(' / ')}` }
      : { verdict, suffix: '' }
  }

  const cpuRatio = ratio(cpu)
  let f = flagged(verdictOf(cpuRatio.median, '>=', 0.65), b(cpu), h(cpu))
  rows.push({
    section: '1 CPU',
    what: `CPU ratio bare/hook per request at ${num(S.cpuRate)} req/s offered`,
    target: '≥ 0.65',
    figure: showSpread(cpuRatio, 2) + f.suffix,
    verdict: f.verdict,
    how: `open loop, ${rounds(S.cpuMs)}; ${keysHeld}; server CPU from /proc/<pid>/stat`,
  })
  const satRatio = ratio(saturation)
  f = flagged(verdictOf(satRatio.median, '>=', 0.55), b(saturation), h(saturation))
  rows.push({
    section: '1 CPU',
    what: 'CPU ratio bare/hook per request at saturation',
    target: '≥ 0.55',
    figure: showSpread(satRatio, 2) + f.suffix,
    verdict: f.verdict,
    how: `closed loop, ${S.saturationConcurrency} connections, ${rounds(S.saturationMs)}; ${keysHeld}`,
  })
  rows.push({
    section: '1 CPU',
    what: `server CPU per request at ${num(S.cpuRate)} req/s: hook, bare, what the hook adds`,
    target: '',
    figure: `hook ${show(h(cpu), 'cpuUs')}; bare ${show(b(cpu), 'cpuUs')}; adds ${showSpread(added(cpu, h(cpu)), 1, ' µs')}`,
    verdict: 'info',
    how: 'the rounds of row 1',
  })
  rows.push({
    section: '1 CPU',
    what: 'server CPU per request at saturation: hook, bare, what the hook adds (throughput)',
    target: '',
    figure:
      `hook ${show(h(saturation), 'cpuUs')} (${show(h(saturation), 'rps')}); ` +
      `bare ${show(b(saturation), 'cpuUs')} (${show(b(saturation), 'rps')}); ` +
      `adds ${showSpread(added(saturation, h(saturation)), 1, ' µs')}; ` +
      `server busy: hook ${show(h(saturation), 'serverCores')}, bare ${show(b(saturation), 'serverCores')}`,
    verdict: 'info',
    how: 'the rounds of row 2; a server busy well under 1 core was held back by the generator or other processes, not by itself',
  })
  const redisRows = (what: string, how: string, figure: (r: Measured[]) => string, source: Map<string, Measured[]>) => {
    const r = rd(source)
    rows.push({
      section: 'Redis',
      what,
      target: '',
      figure: r
        ? figure(r) + (problems(r).length ? `; not all answers were successes: ${problems(r).join(' / ')}` : '')
        : `skipped: ${redisSkip}`,
      verdict: r ? (problems(r).length ? 'ERROR' : 'info') : 'skip',
      how,
    })
  }
  redisRows(
    `hook with REDIS_URL vs memory: server CPU per request at ${num(S.cpuRate)} req/s (+ redis-server CPU)`,
    `open loop, the rounds of row 1, a third side in each; ${num(S.keys)} keys in Redis`,
    (r) =>
      `redis ${show(r, 'cpuUs')} + redis-server ${show(r, 'redisCpuUs')}; ` +
      `memory ${show(h(cpu), 'cpuUs')}; ratio bare/redis ${showSpread(
        spread(
          pairwise(
            b(cpu).map((m) => m.cpuUs),
            r.map((m) => m.cpuUs),
            (x, y) => x / y,
          ),
        ),
        2,
      )}`,
    cpu,
  )
  redisRows(
    'hook with REDIS_URL vs memory: server CPU per request at saturation (throughput)',
    'closed loop, the rounds of row 2, a third side in each',
    (r) =>
      `redis ${show(r, 'cpuUs')} + redis-server ${show(r, 'redisCpuUs')} (${show(r, 'rps')}); ` +
      `memory ${show(h(saturation), 'cpuUs')} (${show(h(saturation), 'rps')})`,
    saturation,
  )

  const diff = (f: (m: Measured) => number) => spread(pairwise(h(latency).map(f), b(latency).map(f), (x, y) => x - y))
  const latencyHow =
    `open loop, ${rounds(S.latencyMs)}; latency from each request's scheduled time to its whole answer (judged), and from its actual send; ` +
    `differences taken round by round; ${num(S.keys)} keys held`
  const ms = (spreadOf: ReturnType<typeof spread>) => showSpread(spreadOf, 2, ' ms')
  // p50 and p99 alike: the hook's latency less the bare server's, each judged against its own target.
  const latencyRows = [
    { stat: 'p50', sent: 'sendP50', limit: 0.2, how: latencyHow },
    { stat: 'p99', sent: 'sendP99', limit: 1, how: 'the rounds of the row above' },
  ] as const
  for (const { stat, sent, limit, how } of latencyRows) {
    const delta = diff((m) => m[stat])
    f = flagged(verdictOf(delta.median, '<=', limit), b(latency), h(latency))
    rows.push({
      section: '2 Latency',
      what: `${stat} hook − bare at ${num(S.latencyRate)} req/s offered`,
      target: `≤ ${limit} ms`,
      figure:
        `${ms(delta)} (hook ${ms(of(h(latency), (m) => m[stat]))}, bare ${ms(of(b(latency), (m) => m[stat]))}); ` +
        `from the actual send ${ms(diff((m) => m[sent]))}${f.suffix}`,
      verdict: f.verdict,
      how,
    })
  }
  redisRows(
    `hook with REDIS_URL vs memory: p50 / p99 at ${num(S.latencyRate)} req/s offered`,
    'the rounds of the rows above, a third side in each',
    (r) =>
      `redis ${show(r, 'p50')} / ${show(r, 'p99')}; ` +
      `memory ${show(h(latency), 'p50')} / ${show(h(latency), 'p99')}`,
    latency,
  )

  rows.push({
    section: '4 Memory',
    what: 'heap per idempotency key, after GC',
    target: '≤ 200 B',
    figure: `${num(heapPerKey)} B (heap ${num(heapBase / 2 ** 20, 1)} MiB with ${num(S.warmup)} keys → ${num(heapFull / 2 ** 20, 1)} MiB with ${num(S.keys)})`,
    verdict: verdictOf(heapPerKey, '<=', 200),
    how: `heapUsed after two forced full GCs (bench probe), before and after ${num(S.keys - S.warmup)} distinct calls, on a hook with SMS_HOOK_LIMIT_PER_NUMBER and _PER_IP off (the guard's counters are not keys)`,
  })
  const left = heapAfter - heapBase
  const leftShare = left / (heapFull - heapBase)
  rows.push({
    section: '4 Memory',
    what: 'heap back to its level after the keys expire',
    target: '≤ 10% of the growth left',
    figure: `${num(heapAfter / 2 ** 20, 1)} MiB vs ${num(heapBase / 2 ** 20, 1)} MiB before (${num(leftShare * 100, 1)}% of the growth left, ${num(left / 1024)} KiB)`,
    verdict: verdictOf(leftShare, '<=', 0.1),
    how: `the hook of the row above; the service has no TTL setting, so the probe moved its Date.now() ${EXPIRY_SHIFT_MS / 60_000} min ahead (TTL 10 min), then ${num(S.warmup)} new calls (each sweeps ≤ 64 expired keys) so as many keys are live as at the base; heap after GC`,
  })
  rows.push({
    section: '4 Memory',
    what: `heap per call with the service's defaults (idempotency key + the guard's counters), ${num(S.keys)} distinct calls`,
    target: '',
    figure: `${num(hookPerCall)} B`,
    verdict: 'info',
    how: 'the hook of rows 1–2, as the heap per key above; every call has its own number and address, so each adds per-number and per-address counters (capped by the service)',
  })
  const gcOf = (ms: Measured[]) => {
    const pauses = ms.map((m) => m.gc!)
    const count = pauses.reduce((n, p) => n + p.count, 0)
    const total = pauses.reduce((n, p) => n + p.totalMs, 0)
    const window = pauses.reduce((n, p) => n + p.windowMs, 0)
    return `mean ${(total / Math.max(1, count)).toFixed(2)} ms, max ${Math.max(...pauses.map((p) => p.maxMs)).toFixed(2)} ms, ${num((count / window) * 1000, 1)} pauses/s, ${num((total / window) * 100, 2)}% of the time`
  }
  rows.push({
    section: '4 Memory',
    what: `GC pauses at ${num(S.gcRate)} req/s offered: hook / bare`,
    target: '',
    figure:
      `hook ${gcOf(h(gc))}; bare ${gcOf(b(gc))}${rd(gc) ? `; hook+redis ${gcOf(rd(gc)!)}` : ''}` +
      (problems(b(gc), h(gc)).length ? `; not all answers were successes: ${problems(b(gc), h(gc)).join(' / ')}` : ''),
    verdict: problems(b(gc), h(gc)).length ? 'ERROR' : 'info',
    how: `open loop, ${rounds(S.gcMs)}; PerformanceObserver 'gc' entries in each server (bench probe)`,
  })
  rows.push({
    section: 'Redis',
    what: `memory after ${num(S.keys)} distinct hooks with REDIS_URL: hook heap and Redis memory per call`,
    target: '',
    figure: redisMemory
      ? `hook heap ${num(redisMemory.heapPerCall, 1)} B per call; Redis used_memory ${num(redisMemory.redisPerKey)} B per call (idempotency key + the guard's counters)`
      : `skipped: ${redisSkip}`,
    verdict: redisMemory ? 'info' : 'skip',
    how: `heap after GC (bench probe) and INFO used_memory, before and after ${num(S.keys - S.warmup)} distinct calls`,
  })
  const satCores = Math.max(...saturationCores)
  const openCores = Math.max(...generatorCores.map((g) => g.cores))
  rows.push({
    section: 'Harness',
    what: 'load generator CPU (its own process.cpuUsage)',
    target: '≤ 0.5 core',
    figure: `open loop: at most ${openCores.toFixed(2)} core; saturation: at most ${satCores.toFixed(2)} core`,
    verdict: openCores <= 0.5 && satCores <= 0.5 ? 'pass' : 'warn',
    how: "a check of the harness, not of the service: over half a core the generator may have shared the server's core",
  })
  const others = spread(othersCores)
  rows.push({
    section: 'Harness',
    what: 'CPU used by other processes on the machine during the rounds',
    target: '',
    figure: `${showSpread(others, 2, ' core')} (of ${machine(undefined).cores})`,
    verdict: others.median > 0.1 ? 'warn' : 'info',
    how: 'busy time in /proc/stat less the CPU of the benchmark and its processes, per round: noise the alternation spreads over both sides',
  })
  if (satCores > 0.5) {
    notes.push(
      `At saturation the generator used up to ${satCores.toFixed(2)} core: even through undici's dispatch it costs ~16 µs per request, so driving the bare handler ` +
        `(~20 µs per request) to its limit takes more than half a core. The server still has a core of its own (it runs JavaScript on one thread); ` +
        `row 4 shows how busy each server got. Were the bare handler held back, its CPU per request would be higher than at its true saturation, which flatters the ratio.`,
    )
  }
}

/** Undefined when the hook keeps its keys in `redis`; otherwise why it does not. */
const usesRedis = async (server: Server, redis: RedisServer): Promise<string | undefined> => {
  const client = redisClient(redis)
  try {
    await client.flushdb()
    const load = await closedLoop({
      target: targetOf(server.url),
      concurrency: 1,
      durationMs: 10_000,
      calls: signedCalls(1),
    })
    const problem = problemOf(load)
    const keys = await client.dbsize()
    if (keys > 0) return undefined
    return `this build of the service ignores REDIS_URL (a hook call left no key in Redis${problem ? `; ${problem}` : ''})`
  } finally {
    client.disconnect()
  }
}

const redisClient = (redis: RedisServer) => new Redis(redis.url, { maxRetriesPerRequest: 1 })
const usedMemory = async (client: Redis) => Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1])

/** `count` calls taken round-robin from `pool` (for the bare handler only, which reads no body). */
const cycle = (pool: SignedCall[], count: number) => Array.from({ length: count }, (_, i) => pool[i % pool.length]!)

// ---------------------------------------------------------------------------------------------------------------
// Part "overload"

interface BurstOutcome {
  load: LoadResult
  max: number
  p99: number
  sends: number
  sentTwice: number
  maxPerNumber: number
  /** CPU seconds each process used over the burst: who the 2 cores went to. */
  cpu: string
}

const burstAgainst = async (
  vendor: FakeVendorClient,
  delayMs: number | null,
  targets: { server: Server; calls: SignedCall[] }[],
  watched: Proc[],
): Promise<BurstOutcome> => {
  await vendor.reset()
  await vendor.mode(delayMs)
  const cpu0 = watched.map((p) => p.cpuSeconds())
  const load = await burst({ targets: targets.map((t) => ({ target: targetOf(t.server.url), calls: t.calls })) })
  // Wait for the hooks to close the requests they gave up on, then count what reached the vendor.
  const deadline = Date.now() + 10_000
  let counts = await vendor.counts()
  while (counts.open > 0 && Date.now() < deadline) {
    await sleep(100)
    counts = await vendor.counts()
  }
  const sorted = sortedCopy(load.latencies)
  const cpu = watched.map((p, i) => `${p.name} ${(p.cpuSeconds() - cpu0[i]!).toFixed(2)} s`)
  cpu.push(`generator ${((load.clientCores * load.elapsedMs) / 1000).toFixed(2)} s`)
  return {
    load,
    max: percentile(sorted, 100),
    p99: percentile(sorted, 99),
    sends: counts.sends,
    sentTwice: counts.sentTwice,
    maxPerNumber: counts.maxPerNumber,
    cpu: cpu.join(', '),
  }
}

const deadlineRow = (section: string, what: string, o: BurstOutcome, expected: number, how: string): Row => {
  const ok = o.load.unanswered === 0 && o.max < DEADLINE_MS && o.sentTwice === 0 && o.load.answered === expected
  const errors = Object.entries(o.load.errors).map(([e, n]) => `${e}×${n}`)
  return {
    section,
    what,
    target: 'all < 5.0 s, none sent twice',
    figure:
      `max ${(o.max / 1000).toFixed(2)} s, p99 ${(o.p99 / 1000).toFixed(2)} s; answers ${describe(o.load.statuses)}` +
      `${o.load.unanswered ? `; NO ANSWER ${o.load.unanswered} (${errors.join(', ')})` : ''}; vendor got ${num(o.sends)} sends, ${o.sentTwice} numbers twice; ` +
      `CPU: ${o.cpu}`,
    verdict: ok ? 'pass' : 'MISS',
    how,
  }
}

/** The fake vendor, shared by the parts overload and redis (started before them). */
let vendor: { server: Server; client: FakeVendorClient } | undefined
const fakeVendor = () => {
  if (!vendor) throw new Error('the fake vendor was not started')
  return vendor
}

/** Many connections at once: more than the default 1024 (SMS_HOOK_MAX_CONNECTIONS, where the service has it). */
const OVERLOAD_ENV = { SMS_HOOK_MAX_CONNECTIONS: '4096' }

const overloadPart = async () => {
  log("\n== overload: every answer inside GoTrue's 5 s")
  const vendor = fakeVendor()
  const hook = await startServer('hook', 'src/node/main.ts', {
    env: hookEnv({ ...twilioEnv(vendor.server.url), ...OVERLOAD_ENV, SMS_HOOK_IDEMPOTENCY_MAX_KEYS: '100000' }),
  })
  for (const [delay, label] of [
    [1000, 'answers in 1 s'],
    [null, 'never answers'],
  ] as const) {
    for (const n of S.overload) {
      log(`  ${n} hooks at once, vendor ${label}`)
      const o = await burstAgainst(
        vendor.client,
        delay,
        [{ server: hook, calls: signedCalls(n) }],
        [hook, vendor.server],
      )
      log(
        `    max ${o.max.toFixed(0)} ms, p99 ${o.p99.toFixed(0)} ms, answers ${describe(o.load.statuses)}, unanswered ${o.load.unanswered}, vendor sends ${o.sends}, twice ${o.sentTwice}; CPU ${o.cpu}`,
      )
      rows.push(
        deadlineRow(
          '3 Deadline',
          `${num(n)} hooks at once, vendor ${label}`,
          o,
          n,
          `Twilio-shaped fake vendor on 127.0.0.1; one connection per hook, opened beforehand; timed at the client from each write; memory store; SMS_HOOK_TIMEOUT_MS default`,
        ),
      )
      await sleep(500)
    }
  }
  await hook.stop()
}

// ---------------------------------------------------------------------------------------------------------------
// Part "redis"

const redisPart = async (redis: RedisServer | undefined, redisError: string | undefined) => {
  log("\n== redis: two instances sharing one Redis, and the raw cost of the store's scripts")
  const sharedWhat = `${S.shared} hooks, each sent to both of two instances sharing one Redis, vendor answers in 1 s`
  const sharedHow =
    'two hook processes, same REDIS_URL and SMS_HOOK_REDIS_PREFIX; every call signed twice (new webhook-id) and sent to both at once'
  if (!redis) {
    const reason = `skipped: ${redisError}`
    rows.push({
      section: 'Redis',
      what: sharedWhat,
      target: 'all < 5.0 s, none sent twice',
      figure: reason,
      verdict: 'skip',
      how: sharedHow,
    })
    rows.push({
      section: 'Redis',
      what: 'raw store scripts of one call: claim + markSending + complete',
      target: '',
      figure: reason,
      verdict: 'skip',
      how: '',
    })
    rows.push({
      section: 'Redis',
      what: 'Redis memory per completed key',
      target: '',
      figure: reason,
      verdict: 'skip',
      how: '',
    })
    return
  }

  const vendor = fakeVendor()
  const env = hookEnv({
    ...twilioEnv(vendor.server.url),
    ...OVERLOAD_ENV,
    REDIS_URL: redis.url,
    SMS_HOOK_REDIS_PREFIX: 'bench-shared:',
  })
  const a = await startServer('hook A', 'src/node/main.ts', { env })
  const b = await startServer('hook B', 'src/node/main.ts', { env })
  await vendor.client.mode(0)
  const skip = (await usesRedis(a, redis)) ?? (await usesRedis(b, redis))
  if (skip) {
    log(`  ${skip}`)
    rows.push({
      section: 'Redis',
      what: sharedWhat,
      target: 'all < 5.0 s, none sent twice',
      figure: `skipped: ${skip}`,
      verdict: 'skip',
      how: sharedHow,
    })
  } else {
    const calls = signedCalls(S.shared)
    const o = await burstAgainst(
      vendor.client,
      1000,
      [
        { server: a, calls },
        { server: b, calls: calls.map(resigned) },
      ],
      [a, b, vendor.server, redis],
    )
    log(
      `  max ${o.max.toFixed(0)} ms, answers ${describe(o.load.statuses)}, vendor sends ${o.sends}, twice ${o.sentTwice}`,
    )
    rows.push(deadlineRow('Redis', sharedWhat, o, S.shared * 2, sharedHow))
  }
  await a.stop()
  await b.stop()

  // The store's own scripts, called by a client the way one hook call does, one after the other.
  try {
    const { createRedisState } = (await import(
      pathToFileURL(resolve(ROOT, 'src/store/redis.ts')).href
    )) as typeof import('../src/store/redis.js')
    const state = createRedisState({ url: redis.url, prefix: 'bench-raw:' })
    const client = redisClient(redis)
    await client.flushdb()
    const outcome = { ok: true as const, provider: 'console', messageId: `console-${randomUUID()}` }
    const sequenceOf = (of: typeof state) => async (key: string) => {
      const claim = await of.store.claim(key, 5500)
      if (claim.status !== 'claimed') throw new Error(`claim of a fresh key answered ${claim.status}`)
      if (!(await of.store.markSending(key, claim.token)))
        throw new Error('markSending of a fresh claim answered false')
      await of.store.complete(key, claim.token, outcome, 10 * 60 * 1000)
    }
    const sequence = sequenceOf(state)
    // SMS_HOOK_REDIS_DURABLE=wait needs a replica to acknowledge: one of our own, attached before either is
    // measured, so that both pay for replication and differ only by the WAIT.
    const replica = await startRedis(['--replicaof', '127.0.0.1', String(redis.port)])
    const durable = createRedisState({ url: redis.url, prefix: 'bench-raw:', durable: 'wait' })
    const durableSequence = sequenceOf(durable)
    for (
      let i = 0;
      i < 100 &&
      !(await durable.ready().then(
        () => true,
        () => false,
      ));
      i++
    )
      await sleep(100)
    for (let i = 0; i < 200; i++) await sequence(randomUUID()) // warm: scripts loaded, JIT
    for (let i = 0; i < 200; i++) await durableSequence(randomUUID())
    /** `count` calls one after another: their times, and redis-server and client CPU per call. */
    const rawRun = async (run: (key: string) => Promise<void>, count: number) => {
      const times = new Float64Array(count)
      const redis0 = redis.cpuSeconds()
      const cpu0 = process.cpuUsage()
      for (let i = 0; i < count; i++) {
        const t = performance.now()
        await run(randomUUID())
        times[i] = performance.now() - t
      }
      const clientCpu = process.cpuUsage(cpu0)
      return {
        times,
        redisUs: ((redis.cpuSeconds() - redis0) / count) * 1e6,
        clientUs: (clientCpu.user + clientCpu.system) / count,
      }
    }
    // Rounds taken in turn, so that a slow spell of the machine falls on both.
    const ROUNDS = 3
    const plainRuns: Awaited<ReturnType<typeof rawRun>>[] = []
    const durableRuns: Awaited<ReturnType<typeof rawRun>>[] = []
    for (let round = 0; round < ROUNDS; round++) {
      plainRuns.push(await rawRun(sequence, Math.ceil(S.rawSequences / ROUNDS)))
      durableRuns.push(await rawRun(durableSequence, Math.ceil(S.rawSequences / ROUNDS)))
    }
    const merged = (runs: typeof plainRuns) => {
      const times = Float64Array.from(runs.flatMap((r) => [...r.times])).sort()
      const mean = (f: (r: (typeof runs)[number]) => number) => runs.reduce((sum, r) => sum + f(r), 0) / runs.length
      return { times, redisUs: mean((r) => r.redisUs), clientUs: mean((r) => r.clientUs) }
    }
    const plain = merged(plainRuns)
    const waited = merged(durableRuns)
    const figureOf = (m: typeof plain) =>
      `p50 ${(percentile(m.times, 50) * 1000).toFixed(0)} µs, p99 ${(percentile(m.times, 99) * 1000).toFixed(0)} µs per call; ` +
      `redis-server CPU ${m.redisUs.toFixed(1)} µs, client CPU ${m.clientUs.toFixed(1)} µs per call`
    rows.push({
      section: 'Redis',
      what: 'raw store scripts of one call: claim + markSending + complete (3 round trips)',
      target: '',
      figure: figureOf(plain),
      verdict: 'info',
      how: `${num(S.rawSequences)} calls one after another through the service's own store (ioredis, EVALSHA) from the benchmark process, a replica attached`,
    })
    log(`  raw scripts: ${rows.at(-1)!.figure}`)
    rows.push({
      section: 'Redis',
      what: 'the same with SMS_HOOK_REDIS_DURABLE=wait (markSending and complete each wait for the replica: WAIT 1)',
      target: '',
      figure:
        `${figureOf(waited)}; ratio durable/plain p50 ${(percentile(waited.times, 50) / percentile(plain.times, 50)).toFixed(2)}, ` +
        `p99 ${(percentile(waited.times, 99) / percentile(plain.times, 99)).toFixed(2)}`,
      verdict: 'info',
      how: `${ROUNDS} rounds of each in turn in the same run, against the same primary and its one replica on this machine (a real replica elsewhere adds its network round trip)`,
    })
    log(`  raw scripts, durable: ${rows.at(-1)!.figure}`)
    await durable.close()
    await replica.stop()

    await client.flushdb()
    const used0 = await usedMemory(client)
    let next = 0
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < S.redisMemoryKeys) {
          next++
          await sequence(randomUUID())
        }
      }),
    )
    const perKey = ((await usedMemory(client)) - used0) / S.redisMemoryKeys
    rows.push({
      section: 'Redis',
      what: `Redis memory per completed key (${num(S.redisMemoryKeys)} keys)`,
      target: '',
      figure: `${num(perKey)} B per key (INFO used_memory)`,
      verdict: 'info',
      how: "keys written by the store's own scripts, 50 at a time; the outcome of a console send as the stored value",
    })
    log(`  Redis memory: ${rows.at(-1)!.figure}`)
    await client.flushdb()
    client.disconnect()
    await state.close()
  } catch (error) {
    rows.push({
      section: 'Redis',
      what: 'raw store scripts of one call: claim + markSending + complete',
      target: '',
      figure: `skipped: the store could not be driven directly (${error instanceof Error ? error.message : String(error)})`,
      verdict: 'skip',
      how: 'src/store/redis.ts createRedisState',
    })
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Part "unsigned"

/**
 * What a caller without GoTrue's headers costs at the body limit. The hook answers 401 from the headers alone,
 * before the body is read or an HMAC made; the 2 MiB still cross the socket (Node's HTTP server discards an
 * unread body of a keep-alive request), and that is what is measured, per request, against a signed small call
 * on the same server in the same rounds. Both go the same way (closed loop, a few connections), bounded in
 * count and time.
 */
const unsignedPart = async () => {
  log('\n== unsigned: an unsigned 2 MiB call against a signed small one')
  const hook = await startServer('hook', 'src/node/main.ts', { env: hookEnv() })
  // One buffer for every junk call: the generator writes it, it does not build it.
  const junkBody = Buffer.alloc(BODY_LIMIT, 0x78)
  const junk = (count: number): SignedCall[] =>
    Array.from({ length: count }, () => ({
      body: junkBody,
      headers: { 'content-type': 'application/json', 'content-length': String(BODY_LIMIT) },
      phone: '',
      uuid: '',
    }))
  const expected = { unsigned: 401, signed: 200 }
  const run = (calls: SignedCall[]) => () =>
    closedLoop({ target: targetOf(hook.url), concurrency: S.unsignedConcurrency, durationMs: S.unsignedMs, calls })
  // Warm-up of both paths (JIT under tsx, connections), not measured: without it the first signed rounds cost
  // several times the later ones.
  for (let i = 0; i < 3; i++) {
    await run(signedCalls(S.warmup))()
    await run(junk(Math.min(200, S.unsignedCalls)))()
  }
  const sides: Side[] = [
    { name: 'unsigned', server: hook },
    { name: 'signed', server: hook },
  ]
  const results = await alternate('unsigned', sides, async (side) => {
    const calls = side.name === 'unsigned' ? junk(S.unsignedCalls) : signedCalls(S.unsignedCalls)
    const m = await measure(hook, run(calls))
    // The unsigned calls are meant to be refused: only another status is a problem.
    const want = expected[side.name as keyof typeof expected]
    const bad = Object.entries(m.load.statuses).filter(([status]) => Number(status) !== want)
    m.problem =
      bad.length || m.load.unanswered
        ? `${side.name}: answers ${describe(m.load.statuses)}${m.load.unanswered ? `, no answer ${m.load.unanswered}` : ''} (expected ${want})`
        : undefined
    return m
  })
  await hook.stop()

  const u = results.get('unsigned')!
  const sg = results.get('signed')!
  const ratio = spread(
    pairwise(
      u.map((m) => m.cpuUs),
      sg.map((m) => m.cpuUs),
      (x, y) => x / y,
    ),
  )
  const p = problems(u, sg)
  rows.push({
    section: '1 CPU',
    what: 'server CPU per request: unsigned 2 MiB call (no webhook headers, Content-Length 2 MiB) / signed small call',
    target: '',
    figure:
      `ratio ${showSpread(ratio, 2)}; unsigned ${show(u, 'cpuUs')} (401), ` +
      `signed ${show(sg, 'cpuUs')} (200)` +
      (p.length ? `; not all answers were as expected: ${p.join(' / ')}` : ''),
    verdict: p.length ? 'ERROR' : 'info',
    how:
      `closed loop, ${S.unsignedConcurrency} connections, ${S.rounds} alternating rounds of ≤ ${num(S.unsignedCalls)} calls or ${S.unsignedMs / 1000} s; ` +
      `one hook (memory store, console provider); refused from the headers before the body is read, the 2 MiB still cross the socket`,
  })
}

// ---------------------------------------------------------------------------------------------------------------

const section = async (name: Part, body: () => Promise<void>) => {
  const started = performance.now()
  const first = rows.length
  const before = runningChildren()
  try {
    await body()
  } catch (error) {
    console.error(error)
    rows.push({
      section: name,
      what: `part "${name}" stopped`,
      target: '',
      figure: error instanceof Error ? error.message.slice(0, 500) : String(error),
      verdict: 'ERROR',
      how: '',
    })
  }
  // Whatever the part started and did not stop (it failed half-way) must not load the machine for the next.
  await stopStartedSince(before)
  for (const row of rows.slice(first)) row.part = name
  timings.push(`${name} ${Math.round((performance.now() - started) / 1000)} s`)
}
const timings: string[] = []

const main = async () => {
  installCleanup()
  const startedAt = new Date()
  const started = performance.now()
  log(`sms-hook benchmark${quick ? ' (quick)' : ''}: ${[...only].join(', ')}`)
  const busy0 = machineBusySeconds()
  await sleep(1000)
  const busyBefore = machineBusySeconds() - busy0
  if (busyBefore > 0.1) {
    const line = `Before it started, other processes kept ${busyBefore.toFixed(2)} of the ${machine(undefined).cores} cores busy: figures are noisier than on an idle machine.`
    log(`  ${line}`)
    notes.push(line)
    coldNotes.push(line)
  }

  let redis: RedisServer | undefined
  let redisError: string | undefined
  if (runs('main') || runs('redis') || runs('cold')) {
    try {
      redis = await startRedis()
    } catch (error) {
      redisError = `redis-server unavailable (${error instanceof Error ? error.message : String(error)})`
      log(`  ${redisError}`)
    }
  }

  if (runs('overload') || runs('redis')) {
    const server = await startFakeVendor()
    vendor = { server, client: new FakeVendorClient(server.url) }
  }

  if (runs('main')) await section('main', () => mainPart(redis, redisError))
  if (runs('overload')) await section('overload', overloadPart)
  if (runs('redis')) await section('redis', () => redisPart(redis, redisError))
  if (runs('unsigned')) await section('unsigned', unsignedPart)
  if (runs('receipts')) {
    await section('receipts', async () => {
      rows.push(
        ...(await receiptsPart({ rounds: S.rounds, calls: S.unsignedCalls * 6, durationMs: S.unsignedMs * 3, log })),
      )
    })
  }
  if (runs('cold')) {
    await section('cold', async () => {
      const cold = await coldStartPart({ rounds: S.coldRounds, redis, redisError, log })
      rows.push(...cold.rows)
      coldNotes.push(
        'Every hook variant runs `node build/node/main.js` with NODE_ENV=production, GOTRUE_HOOK_SEND_SMS_SECRETS, LOG_LEVEL=warn and ' +
          'SMS_HOOK_METRICS_PORT at a free port (production serves its metrics on a port of its own): console with GOTRUE_SMS_PROVIDER=console; ' +
          'aliyun with GOTRUE_SMS_PROVIDER=aliyun, GOTRUE_SMS_ALIYUN_TRANSPORT=fetch or sdk (the official SDK, the default on Node) and ' +
          'GOTRUE_SMS_ALIYUN_ENDPOINT at a fake gateway in the benchmark process (test/fakes/aliyun-server.ts: checks the ACS3 signature, answers OK); ' +
          'Redis with the console provider and REDIS_URL at a redis-server the benchmark starts. The bare server is `node bench/bare-server.mjs`.',
        "The clock runs from just before spawn() until the answer is in: Node itself starting (about the whole of the bare server's time) is in " +
          'every figure. Each call is a fresh GoTrue signup body signed by the `standardwebhooks` package; the first is sent as soon as the port takes ' +
          'a connection, retried every 1 ms while it refuses. RSS is VmRSS from /proc/<pid>/status right after that first answer. CPU is ' +
          'the process\'s time on a core (every thread, /proc/<pid>/task/*/schedstat) and "waited" its time runnable without one: on a busy machine ' +
          'the wall time moves with the wait, the CPU time far less.',
        "The build (`npm run build`, scripts/build.mjs): the hook's path as one ES module bundle with its dependencies; the Redis state and the " +
          'official SDK transport as CommonJS bundles of their own with V8 code caches made at build time (src/node/bundled.ts), loaded only ' +
          'with REDIS_URL or GOTRUE_SMS_ALIYUN_TRANSPORT=sdk.',
      )
    })
  }
  killAll()

  const durationS = (performance.now() - started) / 1000
  // What the hooks of the other parts ran with; part cold says its own after its table.
  if (PARTS.some((part) => part !== 'cold' && runs(part))) {
    notes.push(
      `Hook: \`node --import tsx src/node/main.ts\` with NODE_ENV=production, GOTRUE_SMS_PROVIDER=console, LOG_LEVEL=warn, ` +
        `SMS_HOOK_IDEMPOTENCY_MAX_KEYS=${S.keys}, everything else at the service's defaults (the SMS-pumping guard included); the heap-per-key rows ` +
        `use one more hook with SMS_HOOK_LIMIT_PER_NUMBER=off and SMS_HOOK_LIMIT_PER_IP=off. The deadline rows use GOTRUE_SMS_PROVIDER=twilio with ` +
        `GOTRUE_SMS_TWILIO_ENDPOINT at the fake vendor (bench/fake-vendor.ts) and SMS_HOOK_MAX_CONNECTIONS=4096; the Redis rows REDIS_URL at a ` +
        `redis-server the benchmark starts on a free port, and SMS_HOOK_REDIS_PREFIX. Bare: bench/bare-server.mjs (reads the body, answers \`{}\`). ` +
        `Every server runs as its own process with bench/probe.ts preloaded (and --expose-gc in part main).`,
      `Calls: GoTrue's signup body (test/fixtures/gotrue/signup.json) with a unique metadata.uuid, OTP, phone number and metadata.ip_address each, ` +
        `signed as GoTrue signs them just before each round; the same calls go to the hook and the bare handler. ` +
        `Generator: an undici Pool (keep-alive, no pipelining; up to 64 connections for the open loop, 32 for the closed loop, one per call in the bursts), in the benchmark process.`,
      `Status mixes are GoTrue's reading of each answer: the HTTP status, or the http_code of the error object the service puts in a 200 for GoTrue versions that send metadata.`,
    )
  }
  notes.push(
    `Time per part: ${timings.join(', ')}.`,
    ...(quick ? ['Quick run: 2 rounds of 1 s and 10,000 keys; figures are a smoke test, not a verdict.'] : []),
  )
  const report = { rows, machine: machine(redis?.version), command, startedAt, durationS, notes, coldNotes }
  log(`\n${table(rows)}\n`)
  for (const n of new Set([...notes, ...coldNotes])) log(`- ${n}`)
  if (!quick && only.size === 1 && runs('cold')) {
    writeColdSection(resolve(ROOT, 'BENCHMARKS.md'), report)
    log('\ncold start section written to BENCHMARKS.md')
  } else if (quick || only.size < PARTS.length) {
    log(`\nBENCHMARKS.md left as it is (${quick ? '--quick' : '--only'}); the full run writes it.`)
  } else {
    writeReport(resolve(ROOT, 'BENCHMARKS.md'), report)
    log('\nwritten to BENCHMARKS.md')
  }
  log(`took ${Math.round(durationS)} s`)
  const misses = failed(rows)
  if (rows.some((r) => r.verdict === 'ERROR')) process.exitCode = 2
  else if (flags.check && misses.length > 0) {
    log(`--check: ${misses.length} target(s) missed`)
    process.exitCode = 1
  }
}

await main()
