/**
 * The processes a benchmark starts, and their end: servers (TypeScript through tsx's loader, optionally with the
 * bench probe preloaded), redis-server, the fake vendor. Every child is registered here and killed when the
 * benchmark exits, fails, or is interrupted (Ctrl-C, SIGTERM); nothing outlives it.
 *
 * Also what is read from outside a process: its CPU time from /proc/<pid>/stat (that process alone, every thread),
 * and, through the probe, its heap after a forced GC and its GC pauses.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { ProbeCommand, ProbeReport } from './probe.js'

export const ROOT = resolve(import.meta.dirname, '..')
const TSX = pathToFileURL(resolve(ROOT, 'node_modules/tsx/dist/loader.mjs')).href
const PROBE = pathToFileURL(resolve(ROOT, 'bench/probe.ts')).href

const children = new Set<ChildProcess>()
const tempDirs = new Set<string>()

/** Kills every child still running (SIGKILL: at exit there is no time to wait) and removes temporary files. */
export const killAll = () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  children.clear()
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
  tempDirs.clear()
}

/** The children running now, to tell later which ones a part of the benchmark started. */
export const runningChildren = (): ReadonlySet<ChildProcess> => new Set(children)

/** Stops (SIGTERM, then SIGKILL) every child started since `before`, e.g. when a part ends or fails. */
export const stopStartedSince = async (before: ReadonlySet<ChildProcess>) => {
  await Promise.all([...children].filter((c) => !before.has(c)).map(stopChild))
}

let cleanupInstalled = false
/** Installs the handlers that end every child on exit, on an uncaught error and on SIGINT/SIGTERM/SIGHUP. */
export const installCleanup = () => {
  if (cleanupInstalled) return
  cleanupInstalled = true
  process.on('exit', killAll)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      console.error(`\nbench: ${signal}, stopping every process it started`)
      killAll()
      process.exit(130)
    })
  }
  process.on('uncaughtException', (error) => {
    console.error(error)
    killAll()
    process.exit(2)
  })
  process.on('unhandledRejection', (error) => {
    console.error(error)
    killAll()
    process.exit(2)
  })
}

/** A port the kernel says is free right now, on 127.0.0.1. */
export const freePort = () =>
  new Promise<number>((resolvePort, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo
      probe.close(() => resolvePort(port))
    })
  })

const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), `sms-hook-bench-${prefix}-`))
  tempDirs.add(dir)
  return dir
}

/** The last few KiB a child wrote on stderr (or stdout), to explain a failure. */
export const tail = (child: ChildProcess, stream: 'stdout' | 'stderr', limit = 4096) => {
  let text = ''
  child[stream]?.on('data', (chunk: Buffer) => {
    text = (text + chunk.toString()).slice(-limit)
  })
  return () => text
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** User + system CPU seconds of process `pid` (all its threads) from /proc; NaN where there is no /proc. */
export const cpuSeconds = (pid: number | undefined): number => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    // After the command name: state is field 3, utime 14 and stime 15 (man 5 proc), so indexes 11 and 12 here.
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK
  } catch {
    return Number.NaN
  }
}

/** CPU seconds the whole machine spent busy (every core, every process, the kernel), from /proc/stat. */
export const machineBusySeconds = (): number => {
  try {
    const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/)
    // user nice system idle iowait irq softirq steal: all but idle and iowait are busy.
    const [user, nice, system, , , irq, softirq, steal] = ticks.map(Number)
    return (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) / CLK_TCK
  } catch {
    return Number.NaN
  }
}

/** CPU seconds of this process and every child it started that is still running. */
export const ownCpuSeconds = (): number => {
  const self = process.cpuUsage()
  let total = (self.user + self.system) / 1e6
  for (const child of children) total += cpuSeconds(child.pid)
  return total
}

export interface Proc {
  name: string
  child: ChildProcess
  pid: number
  /** What it wrote last, for error messages. */
  output(): string
  cpuSeconds(): number
  stop(): Promise<void>
}

/** Registers `child` so that it is ended with the benchmark; `output` tells what it wrote last. */
export const register = (name: string, child: ChildProcess, output: () => string): Proc => {
  children.add(child)
  child.once('exit', () => children.delete(child))
  return {
    name,
    child,
    pid: child.pid!,
    output,
    cpuSeconds: () => cpuSeconds(child.pid),
    stop: () => stopChild(child),
  }
}

/** SIGTERM, then SIGKILL after 3 s. */
const stopChild = (child: ChildProcess) =>
  new Promise<void>((resolveStop) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolveStop()
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
    child.once('exit', () => {
      clearTimeout(timer)
      children.delete(child)
      resolveStop()
    })
    child.kill('SIGTERM')
  })

export interface Server extends Proc {
  url: string
  port: number
  env: Record<string, string>
  /** Present when started with the probe: asks the process for its heap and GC figures. */
  probe?: (command: ProbeCommand) => Promise<ProbeReport>
}

export interface ServerOptions {
  /** Extra environment; PORT, HOST and PATH are set here. */
  env?: Record<string, string>
  /** Open the probe's control channel (heap after GC, GC pauses, clock) and run with --expose-gc. */
  probe?: boolean
}

/**
 * Starts the TypeScript `entry` with Node, tsx's loader and bench/probe.ts on a free port of 127.0.0.1 and waits until it answers
 * HTTP (any status). Its stdout is dropped (the hook's JSON log); stderr is kept for error messages.
 */
export const startServer = async (name: string, entry: string, options: ServerOptions = {}): Promise<Server> => {
  const port = await freePort()
  const env: Record<string, string> = { PORT: String(port), HOST: '127.0.0.1', ...options.env }
  const probeDir = options.probe ? tempDir('probe') : undefined
  const args = [
    ...(options.probe ? ['--expose-gc'] : []),
    '--import',
    TSX,
    // Always preloaded: it ends the server should the benchmark die; its control channel only with `probe`.
    '--import',
    PROBE,
    resolve(ROOT, entry),
  ]
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env, ...(probeDir ? { BENCH_PROBE_DIR: probeDir } : {}) },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const proc = register(name, child, tail(child, 'stderr'))
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 20_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} at start: ${proc.output()}`)
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) })
      await res.arrayBuffer()
      break
    } catch {
      if (Date.now() > deadline) {
        await proc.stop()
        throw new Error(`${name} did not answer within 20 s: ${proc.output()}`)
      }
      await sleep(100)
    }
  }
  return { ...proc, url, port, env, probe: probeDir ? probeClient(proc, probeDir) : undefined }
}

/**
 * The control side of bench/probe.ts: writes the command to a file, sends SIGUSR2, and waits for the report the
 * probe writes back (a few seconds at most: a forced GC of a large heap takes a while).
 */
const probeClient = (proc: Proc, dir: string) => {
  let id = 0
  return async (command: ProbeCommand): Promise<ProbeReport> => {
    const n = ++id
    const out = join(dir, `report-${n}.json`)
    writeFileSync(join(dir, 'command.json'), JSON.stringify({ ...command, id: n }))
    proc.child.kill('SIGUSR2')
    const deadline = Date.now() + 30_000
    while (!existsSync(out)) {
      if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited while probed: ${proc.output()}`)
      if (Date.now() > deadline) throw new Error(`${proc.name}: no probe report within 30 s`)
      await sleep(20)
    }
    // The probe writes to a temporary name and renames, so a file that exists is complete.
    return JSON.parse(readFileSync(out, 'utf8')) as ProbeReport
  }
}

export interface RedisServer extends Proc {
  url: string
  port: number
  version: string
}

/**
 * A redis-server of our own on a free port of 127.0.0.1, keeping nothing on disk, so the benchmark never touches
 * another Redis (such as one on 6379). `args` are added to its command line (`--replicaof` for a replica). Rejects
 * when redis-server is not on PATH or does not answer.
 */
export const startRedis = async (args: string[] = []): Promise<RedisServer> => {
  let version: string
  try {
    version = /v=(\S+)/.exec(execFileSync('redis-server', ['--version'], { encoding: 'utf8' }))?.[1] ?? '?'
  } catch {
    throw new Error('redis-server is not on PATH')
  }
  const port = await freePort()
  const dir = tempDir('redis')
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--loglevel',
      'warning',
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const output = tail(child, 'stdout')
  const proc = register('redis-server', child, output)
  const { Redis } = await import('ioredis')
  const deadline = Date.now() + 10_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}: ${output()}`)
    const client = new Redis({
      host: '127.0.0.1',
      port,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    })
    client.on('error', () => {})
    try {
      await client.connect()
      await client.ping()
      client.disconnect()
      break
    } catch {
      client.disconnect()
      if (Date.now() > deadline) {
        await proc.stop()
        throw new Error(`redis-server did not answer within 10 s: ${output()}`)
      }
      await sleep(100)
    }
  }
  return { ...proc, url: `redis://127.0.0.1:${port}`, port, version }
}

/** Starts bench/fake-vendor.ts as its own process (its CPU stays out of the generator's). */
export const startFakeVendor = (): Promise<Server> => startServer('vendor', 'bench/fake-vendor.ts')

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
