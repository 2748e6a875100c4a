/**
 * Real Redis servers for the tests: `redis-server` child processes on free loopback ports, each in its own
 * temporary directory, persisting nothing. The Redis a developer already runs is never touched.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'

/** The `redis-server` on the PATH, if any. */
export const findRedisServer = (): string | undefined => {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue
    const candidate = join(dir, 'redis-server')
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // Not in this directory.
    }
  }
  return undefined
}

export interface RedisServer {
  url: string
  port: number
  /** Starts the server again on the same port, after `kill` or `stop`. */
  start(): Promise<void>
  /** SIGKILL, as a crash or an OOM kill would: clients see their connection drop. */
  kill(): Promise<void>
  /** Stops the server for good and removes its directory. */
  stop(): Promise<void>
}

/** A free loopback port, as the OS hands one out. */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })

/**
 * Starts `redis-server` (found on the PATH unless `binary` is given) with `args` added to a configuration that
 * persists nothing and listens on 127.0.0.1 only, and resolves once it accepts connections.
 */
export const startRedisServer = async (options: { binary?: string; args?: string[] } = {}): Promise<RedisServer> => {
  const binary = options.binary ?? findRedisServer()
  if (binary === undefined) throw new Error('redis-server is not on the PATH')
  const dir = mkdtempSync(join(tmpdir(), 'sms-hook-redis-'))
  let port = await freePort()
  let child: ChildProcess | undefined

  const spawnOnce = () =>
    new Promise<ChildProcess>((resolve, reject) => {
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir]
      const proc = spawn(binary, [...args, ...(options.args ?? [])], { stdio: ['ignore', 'pipe', 'pipe'] })
      let output = ''
      const timer = setTimeout(() => fail(new Error(`redis-server did not start within 10 s: ${output}`)), 10_000)
      const fail = (error: Error) => {
        clearTimeout(timer)
        proc.kill('SIGKILL')
        reject(error)
      }
      proc.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString()
        if (/Ready to accept connections/.test(output)) {
          clearTimeout(timer)
          resolve(proc)
        }
      })
      proc.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
      proc.once('exit', (code) => fail(new Error(`redis-server exited with ${code}: ${output}`)))
    })

  const start = async () => {
    child = await spawnOnce()
  }
  const exit = async (signal: NodeJS.Signals) => {
    const proc = child
    child = undefined
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return
    const exited = new Promise((resolve) => proc.once('exit', resolve))
    proc.kill(signal)
    await exited
  }

  // Another process may take the free port before the server binds it: try a new one.
  for (let attempt = 1; ; attempt++) {
    try {
      await start()
      break
    } catch (error) {
      if (attempt === 3 || !/Address already in use/.test(String(error))) {
        rmSync(dir, { recursive: true, force: true })
        throw error
      }
      port = await freePort()
    }
  }

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    kill: () => exit('SIGKILL'),
    stop: async () => {
      await exit('SIGTERM')
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Waits, a bounded number of times, for a state to connect, or to reconnect after its server came back. */
export const reconnected = async (state: { ping(): Promise<void> }) => {
  for (let i = 0; i < 100; i++) {
    try {
      return await state.ping()
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  throw new Error('did not reconnect within 10 s')
}
