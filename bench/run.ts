/**
 * `npm run bench`: requests/s of the full hook path against a bare Hono POST handler, measured in the same
 * run, alternating, so machine noise hits both. Targets 127.0.0.1 only and stops by itself.
 *
 * Both servers run as their own processes and get identical client work: every request is a GoTrue-shaped body
 * with a unique metadata.uuid (no idempotent replays), signed as GoTrue signs it. Each goes to a random number
 * from a random address, so the SMS-pumping guard counts every call at its default limits and refuses none.
 */
import autocannon from 'autocannon'
import { spawn, type ChildProcess } from 'node:child_process'
import { createHmac, randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
const CONNECTIONS = 32
const TARGET_RATIO = 0.8

const ROOT = resolve(import.meta.dirname, '..')
const TSX = pathToFileURL(resolve(ROOT, 'node_modules/tsx/dist/loader.mjs')).href
const SECRET = `v1,whsec_${Buffer.alloc(32, 42).toString('base64')}`
const KEY = Buffer.alloc(32, 42)
const TEMPLATE = readFileSync(resolve(ROOT, 'test/fixtures/gotrue/signup.json'), 'utf8').trim()
const FIXTURE_UUID = '9f1c2a57-5a4b-4c1e-9d1e-0c7a1e2b3c4d'

interface Server {
  name: string
  child: ChildProcess
  url: string
}

/** A port the kernel says is free right now. */
const freePort = () =>
  new Promise<number>((resolvePort, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo
      probe.close(() => resolvePort(port))
    })
  })

/** Starts `entry` on a free port and waits until it answers (the hook logs nothing below warn here). */
const startServer = async (name: string, entry: string, env: Record<string, string>): Promise<Server> => {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', TSX, resolve(ROOT, entry)], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`)
    try {
      await fetch(`${url}/send-sms`, { method: 'POST', body: '{}' })
      return { name, child, url }
    } catch {
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  child.kill('SIGKILL')
  throw new Error(`${name} did not start within 15 s`)
}

const random = (n: number) => Math.floor(Math.random() * n)

/** A new GoTrue request per call: fresh uuid, OTP, number and address, current timestamp, GoTrue's signature header. */
const gotrueRequest = (request: autocannon.Request): autocannon.Request => {
  const body = TEMPLATE.replace(FIXTURE_UUID, randomUUID())
    .replace('482913', String(100000 + random(900000)))
    .replaceAll('8613800138000', `86138${String(random(1e8)).padStart(8, '0')}`)
    .replace('203.0.113.7', `10.${random(256)}.${random(256)}.${random(256)}`)
  const id = randomUUID()
  const timestamp = Math.floor(Date.now() / 1000)
  const signature = createHmac('sha256', KEY).update(`${id}.${timestamp}.${body}`).digest('base64')
  return {
    ...request,
    body,
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': `v1,${signature}`,
    },
  }
}

const load = async (server: Server, seconds: number) => {
  const cpuBefore = cpuSeconds(server.child)
  const result = await autocannon({
    url: server.url,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [{ method: 'POST', path: '/send-sms', setupRequest: gotrueRequest }],
  })
  const failures = result.non2xx + result.errors + result.timeouts
  if (failures > 0) throw new Error(`${server.name}: ${failures} failed requests (non-2xx ${result.non2xx}, errors ${result.errors}, timeouts ${result.timeouts})`)
  const cpu = cpuSeconds(server.child) - cpuBefore
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result.requests.total,
    /** Server CPU per request: what the hook costs, independent of how the client shares the machine. */
    cpuMicros: (cpu / result.requests.total) * 1e6,
  }
}

/** User + system CPU time of a process in seconds, from /proc (Linux); NaN elsewhere. */
const cpuSeconds = (child: ChildProcess) => {
  try {
    const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return Number.NaN
  }
}

/** Peak resident memory of a process, from /proc (Linux). */
const peakRssMiB = (child: ChildProcess) => {
  try {
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
    const kib = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1])
    return kib / 1024
  } catch {
    return Number.NaN
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length

const main = async () => {
  const bare = await startServer('bare Hono', 'bench/bare-server.ts', {})
  const hook = await startServer('sms-hook', 'src/node/main.ts', {
    NODE_ENV: 'production',
    GOTRUE_SMS_PROVIDER: 'console',
    GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET,
    LOG_LEVEL: 'warn',
  })
  try {
    // Warm both up (JIT, connection pools) before anything counts.
    await load(bare, 1)
    await load(hook, 1)
    const runs: Record<string, Awaited<ReturnType<typeof load>>[]> = { bare: [], hook: [] }
    for (let round = 1; round <= ROUNDS; round++) {
      const order = round % 2 === 1 ? (['bare', 'hook'] as const) : (['hook', 'bare'] as const)
      for (const which of order) {
        const result = await load(which === 'bare' ? bare : hook, SECONDS)
        runs[which]!.push(result)
        console.log(
          `round ${round} ${which.padEnd(4)} ${result.rps.toFixed(0).padStart(6)} req/s  p50 ${result.p50} ms  p99 ${result.p99} ms  server CPU ${result.cpuMicros.toFixed(0)} us/request`,
        )
      }
    }
    const summary = (name: string, xs: Awaited<ReturnType<typeof load>>[], server: Server) => ({
      name,
      rps: mean(xs.map((x) => x.rps)),
      p50: mean(xs.map((x) => x.p50)),
      p99: mean(xs.map((x) => x.p99)),
      requests: xs.reduce((a, x) => a + x.total, 0),
      cpuMicros: mean(xs.map((x) => x.cpuMicros)),
      rssMiB: peakRssMiB(server.child),
    })
    const b = summary('bare Hono POST', runs.bare!, bare)
    const h = summary('sms-hook /send-sms', runs.hook!, hook)
    const ratio = h.rps / b.rps
    console.log('')
    console.log(`${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${SECONDS} s each`)
    for (const s of [b, h]) {
      console.log(
        `${s.name.padEnd(20)} ${s.rps.toFixed(0).padStart(6)} req/s  p50 ${s.p50.toFixed(1)} ms  p99 ${s.p99.toFixed(1)} ms  server CPU ${s.cpuMicros.toFixed(0)} us/request  peak RSS ${s.rssMiB.toFixed(0)} MiB  (${s.requests} requests)`,
      )
    }
    // CPU per request is steadier than requests/s on a shared machine: the client's share of the cores moves the
    // throughput of both, while what the hook costs the server stays put.
    console.log(`the hook adds ${(h.cpuMicros - b.cpuMicros).toFixed(0)} us of server CPU per request to the bare handler's ${b.cpuMicros.toFixed(0)} us`)
    console.log(`ratio hook/bare: ${ratio.toFixed(2)} (target >= ${TARGET_RATIO})`)
    process.exitCode = ratio >= TARGET_RATIO ? 0 : 1
  } finally {
    bare.child.kill('SIGTERM')
    hook.child.kill('SIGTERM')
  }
}

await main()
