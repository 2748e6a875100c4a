/**
 * Cold start: the time from spawning a process to its first answered signed hook, and its resident memory then,
 * for the service as `npm start` and the image run it (`node build/node/main.js`, the build of this checkout)
 * against a bare Hono server (`node bench/bare-server.mjs`), side by side.
 *
 * Each round starts every variant once, one after the other, in an order that rotates from round to round; a
 * first round warms the page cache and is not counted. A round spawns the process on a free port of 127.0.0.1,
 * sends one signed hook (signed with the `standardwebhooks` package, independently of the service) as soon as the
 * port takes a connection, retrying every millisecond while it refuses, and stops the clock at the first 200; the
 * child's VmRSS is read from /proc at that moment, then the child is killed. The Alibaba Cloud variants send to a
 * fake gateway in this process (test/fakes/aliyun-server.ts), which checks the ACS3 signature as Aliyun does;
 * the Redis variant to a redis-server of the benchmark's own.
 */
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { request } from 'node:http'
import { resolve } from 'node:path'
import { Webhook } from 'standardwebhooks'
import { FAKE_ALIYUN } from '../test/fakes/aliyun-accounts.js'
import { startFakeAliyun } from '../test/fakes/aliyun-server.js'
import { freshBody, SECRET } from './gotrue.js'
import type { Row } from './report.js'
import { freePort, register, ROOT, sleep, tail, type RedisServer } from './servers.js'
import { num, pairwise, showSpread, spread, type Spread } from './stats.js'

export interface ColdOptions {
  /** Counted rounds (one more, first, warms the page cache). */
  rounds: number
  redis: RedisServer | undefined
  /** Why there is no Redis, when there is none. */
  redisError: string | undefined
  log: (line: string) => void
}

interface Variant {
  name: string
  /** The file Node runs, relative to the project. */
  entry: string
  env: Record<string, string>
  /** The most this variant may take, as a multiple of the bare server's time; undefined for the bare server. */
  limit?: number
}

interface Sample {
  ms: number
  rssKiB: number
  /** CPU time of every thread of the process until then, and its time runnable but waiting for a core. */
  cpuMs: number
  waitMs: number
}

const webhook = new Webhook(SECRET.replace(/^v1,/, ''))

/** A fresh GoTrue call signed now by Standard Webhooks' reference library. */
const signedHook = () => {
  const { body } = freshBody()
  const id = `msg_${crypto.randomUUID()}`
  const now = new Date()
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': webhook.sign(id, now, body),
    },
  }
}

/** One POST; rejects with Node's error (ECONNREFUSED while nothing listens yet). */
const post = (port: number, call: { body: string; headers: Record<string, string> }) =>
  new Promise<{ status: number; body: string }>((resolvePost, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path: '/send-sms', headers: call.headers, agent: false },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (text += chunk))
        res.on('end', () => resolvePost({ status: res.statusCode ?? 0, body: text }))
        res.on('error', reject)
      },
    )
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')))
    req.on('error', reject)
    req.end(call.body)
  })

const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN)

/**
 * Nanosecond CPU and wait times summed over the process's threads (/proc/<pid>/task/<tid>/schedstat: time on a
 * core, time runnable but waiting for one): on a busy machine the CPU time moves far less than the wall time.
 */
const schedMs = (pid: number) => {
  let cpu = 0
  let wait = 0
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const [onCpu, waiting] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number)
      cpu += onCpu!
      wait += waiting!
    } catch {
      // the thread ended meanwhile
    }
  }
  return { cpuMs: cpu / 1e6, waitMs: wait / 1e6 }
}

/** Spawns `variant`, and measures until its first 200 to a signed hook. */
const startOnce = async (variant: Variant): Promise<Sample> => {
  const port = await freePort()
  const metricsPort = await freePort()
  const call = signedHook()
  const started = performance.now()
  const child = spawn(process.execPath, [resolve(ROOT, variant.entry)], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      // Production serves its metrics on a port of its own: a free one, not the default another process may hold.
      SMS_HOOK_METRICS_PORT: String(metricsPort),
      ...variant.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const proc = register(`cold ${variant.name}`, child, tail(child, 'stderr'))
  try {
    const deadline = started + 20_000
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${variant.name} exited with ${child.exitCode}: ${proc.output()}`)
      try {
        const answer = await post(port, call)
        const ms = performance.now() - started
        const rss = rssKiB(proc.pid)
        const sched = schedMs(proc.pid)
        if (answer.status !== 200 || answer.body !== '{}') {
          throw new Error(`${variant.name} answered ${answer.status} ${answer.body.slice(0, 200)}`)
        }
        return { ms, rssKiB: rss, ...sched }
      } catch (error) {
        if ((error as { code?: unknown }).code !== 'ECONNREFUSED') throw error
        if (performance.now() > deadline)
          throw new Error(`${variant.name} did not listen within 20 s: ${proc.output()}`)
        await sleep(1)
      }
    }
  } finally {
    child.kill('SIGKILL')
    await new Promise<void>((r) =>
      child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r()),
    )
  }
}

const HOOK = 'build/node/main.js'

const hookEnv = (extra: Record<string, string>): Record<string, string> => ({
  NODE_ENV: 'production',
  GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET,
  LOG_LEVEL: 'warn',
  ...extra,
})

const aliyunEnv = (url: string, transport: 'fetch' | 'sdk') =>
  hookEnv({
    GOTRUE_SMS_PROVIDER: 'aliyun',
    GOTRUE_SMS_ALIYUN_TRANSPORT: transport,
    GOTRUE_SMS_ALIYUN_ENDPOINT: url,
    GOTRUE_SMS_ALIYUN_ACCESS_KEY_ID: FAKE_ALIYUN.accessKeyId,
    GOTRUE_SMS_ALIYUN_ACCESS_KEY_SECRET: FAKE_ALIYUN.accessKeySecret,
    GOTRUE_SMS_ALIYUN_SIGN_NAME: 'sms-hook',
    GOTRUE_SMS_ALIYUN_TEMPLATE_CODE: 'SMS_465000000',
  })

export interface ColdResult {
  rows: Row[]
  /** The figures of every variant, in the order measured, for the report's own section. */
  figures: {
    name: string
    ms: Spread
    rssMiB: Spread
    cpuMs: Spread
    waitMs: Spread
    ratio: Spread | undefined
    cpuRatio: Spread | undefined
    limit: number | undefined
  }[]
}

/** Builds with the project's own `npm run build`, so that what starts is this checkout's code. */
const build = async (log: (line: string) => void) => {
  log('  npm run build')
  const child = spawn('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] })
  const proc = register('npm run build', child, tail(child, 'stderr'))
  const code = await new Promise<number | null>((r) => child.once('exit', r))
  if (code !== 0) throw new Error(`npm run build exited with ${code}: ${proc.output()}`)
}

export const coldStartPart = async (options: ColdOptions): Promise<ColdResult> => {
  const { log } = options
  log('\n== cold: process start to the first answered signed hook')
  await build(log)
  const aliyun = await startFakeAliyun()
  try {
    const variants: Variant[] = [
      { name: 'bare Hono', entry: 'bench/bare-server.mjs', env: {} },
      { name: 'console', entry: HOOK, env: hookEnv({ GOTRUE_SMS_PROVIDER: 'console' }), limit: 1.5 },
      { name: 'aliyun fetch', entry: HOOK, env: aliyunEnv(aliyun.url, 'fetch'), limit: 1.5 },
      { name: 'aliyun sdk', entry: HOOK, env: aliyunEnv(aliyun.url, 'sdk'), limit: 2 },
    ]
    if (options.redis) {
      variants.push({
        name: 'console + Redis',
        entry: HOOK,
        env: hookEnv({
          GOTRUE_SMS_PROVIDER: 'console',
          REDIS_URL: options.redis.url,
          SMS_HOOK_REDIS_PREFIX: 'bench-cold:',
        }),
        limit: 1.5,
      })
    } else {
      log(`  the Redis variant is left out: ${options.redisError ?? 'redis-server is unavailable'}`)
    }
    const samples = new Map<string, Sample[]>(variants.map((v) => [v.name, []]))
    for (let round = 0; round <= options.rounds; round++) {
      const order = [...variants.slice(round % variants.length), ...variants.slice(0, round % variants.length)]
      const line: string[] = []
      for (const variant of order) {
        const sample = await startOnce(variant)
        if (round > 0) samples.get(variant.name)!.push(sample)
        line.push(
          `${variant.name} ${sample.ms.toFixed(0)} ms (CPU ${sample.cpuMs.toFixed(0)}, waited ${sample.waitMs.toFixed(0)}) ` +
            `${(sample.rssKiB / 1024).toFixed(0)} MiB`,
        )
        await sleep(100)
      }
      log(`  ${round === 0 ? 'warm-up' : `round ${round}/${options.rounds}`}: ${line.join(', ')}`)
    }
    const bare = samples.get('bare Hono')!
    const figures = variants.map((v) => {
      const own = samples.get(v.name)!
      const of = (f: (s: Sample) => number) => own.map(f)
      const ratio = (f: (s: Sample) => number) =>
        v.limit === undefined ? undefined : spread(pairwise(of(f), bare.map(f), (x, y) => x / y))
      return {
        name: v.name,
        ms: spread(of((s) => s.ms)),
        rssMiB: spread(of((s) => s.rssKiB / 1024)),
        cpuMs: spread(of((s) => s.cpuMs)),
        waitMs: spread(of((s) => s.waitMs)),
        ratio: ratio((s) => s.ms),
        cpuRatio: ratio((s) => s.cpuMs),
        limit: v.limit,
      }
    })
    const how =
      `${options.rounds} rounds (after one not counted), every variant once per round in rotating order; ` +
      'spawn to the first 200 of a signed hook, retried every 1 ms while the port refuses; VmRSS and CPU (schedstat) then'
    const base = figures[0]!
    const rows: Row[] = figures.map((f) =>
      f.ratio === undefined
        ? {
            section: '10 Cold start',
            what: `${f.name}: process start to first answered hook, and RSS then`,
            target: '',
            figure:
              `${showSpread(f.ms, 0, ' ms')}; RSS ${showSpread(f.rssMiB, 0, ' MiB')}; ` +
              `CPU ${showSpread(f.cpuMs, 0, ' ms')}, waited for a core ${showSpread(f.waitMs, 0, ' ms')}`,
            verdict: 'info',
            how: `\`node bench/bare-server.mjs\`; ${how}`,
          }
        : {
            section: '10 Cold start',
            what: `${f.name}: time to first answered hook / bare Hono's, in the same round`,
            target: `≤ ${f.limit}`,
            figure:
              `${showSpread(f.ratio, 2)} (${showSpread(f.ms, 0, ' ms')}, bare ${num(base.ms.median)} ms); ` +
              `RSS ${showSpread(f.rssMiB, 0, ' MiB')} (bare ${num(base.rssMiB.median)} MiB); ` +
              `CPU ${showSpread(f.cpuMs, 0, ' ms')}, ratio ${showSpread(f.cpuRatio!, 2)}; waited for a core ${showSpread(f.waitMs, 0, ' ms')}`,
            verdict: Number.isFinite(f.ratio.median) && f.ratio.median <= f.limit! ? 'pass' : 'MISS',
            how: `\`node ${HOOK}\` (\`npm run build\` of this checkout), NODE_ENV=production, LOG_LEVEL=warn; ${how}`,
          },
    )
    return { rows, figures }
  } finally {
    await aliyun.close()
  }
}
