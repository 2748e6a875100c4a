/** Runs the project's TypeScript entry points and npm scripts as child processes, the way a user runs them. */
import { spawn, type ChildProcess } from 'node:child_process'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

export const ROOT = resolve(import.meta.dirname, '../..')
const TSX = pathToFileURL(resolve(ROOT, 'node_modules/tsx/dist/loader.mjs')).href

export interface Running {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  exited: Promise<number | null>
  /** Resolves with the first stdout line matching `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>
}

export interface RunOptions {
  /** Added to PATH, which every child gets; nothing else of this process's environment is passed on. */
  env?: NodeJS.ProcessEnv
  cwd?: string
}

export const runTs = (entry: string, args: string[] = [], options: RunOptions = {}): Running =>
  run(process.execPath, ['--import', TSX, resolve(ROOT, entry), ...args], options)

/** Runs `command` in the project folder (or `cwd`). */
export const run = (command: string, args: string[], options: RunOptions = {}): Running => {
  const child = spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    env: { PATH: process.env.PATH, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  const listeners = new Set<() => void>()
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString()
    for (const l of listeners) l()
  })
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()))
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor: (pattern, timeoutMs = 10_000) =>
      new Promise((resolveLine, reject) => {
        const check = () => {
          const line = out.split('\n').find((l) => pattern.test(l))
          if (line === undefined) return
          cleanup()
          resolveLine(line)
        }
        const timer = setTimeout(() => {
          cleanup()
          reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; stdout: ${out}; stderr: ${err}`))
        }, timeoutMs)
        const onExit = () => {
          cleanup()
          reject(new Error(`process exited before printing ${pattern}; stdout: ${out}; stderr: ${err}`))
        }
        const cleanup = () => {
          clearTimeout(timer)
          listeners.delete(check)
          child.off('exit', onExit)
        }
        listeners.add(check)
        child.once('exit', onExit)
        check()
      }),
  }
}

/** The URL from the server's `listening` log line. */
export const listeningUrl = async (running: Running, timeoutMs?: number) => {
  const line = await running.waitFor(/"msg":"listening"/, timeoutMs)
  return (JSON.parse(line) as { url: string }).url
}
