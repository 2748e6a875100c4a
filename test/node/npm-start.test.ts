/**
 * `npm start` as a process manager runs it: npm signals only its own child, so SIGTERM to npm must reach the
 * server, which finishes what is in flight and exits 0 with every process of the tree. It runs the build and
 * never makes one: without build/ it says what to run, in one line.
 */
import { execFileSync } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
} from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { signupPayload } from '../support/payloads.js'
import { SECRET } from '../support/sign.js'
import { openRaw, rawSignedPost, statusOf, within } from './socket.js'
import { listeningUrl, ROOT, run } from './spawn.js'

/** Every process below `pid`, read from /proc. */
const descendants = (pid: number): number[] => {
  const children = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .flatMap((name) => {
      try {
        // The command may hold spaces and parentheses: the parent pid is the 2nd field after the last ')'.
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
        const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
        if (parent !== pid) return []
        return [Number(name)]
      } catch {
        return [] // exited meanwhile
      }
    })
  return children.flatMap((child) => [child, ...descendants(child)])
}

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ')

const started: number[] = []
afterEach(() => {
  // Whatever a failed run left behind; each of these was started by this test.
  for (const pid of started.splice(0).reverse()) if (alive(pid)) process.kill(pid, 'SIGKILL')
})

const portIsFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })

const NPM_ENV = { HOME: process.env.HOME, npm_config_update_notifier: 'false' }

describe('npm start', () => {
  beforeAll(() => {
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'pipe' })
  }, 120_000)

  it('without build/, exits 1 with one line saying what to run, no stack trace', async () => {
    // A checkout that was never built: the package and its start script, nothing else.
    const dir = mkdtempSync(join(tmpdir(), 'sms-hook-start-'))
    try {
      mkdirSync(join(dir, 'scripts'))
      copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'))
      copyFileSync(join(ROOT, 'scripts/start.mjs'), join(dir, 'scripts/start.mjs'))
      const npm = run('npm', ['start'], { cwd: dir, env: { ...NPM_ENV, GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET } })
      expect(await within(npm.exited, 30_000, 'npm exited')).toBe(1)
      const lines = npm.stderr().trim().split('\n')
      expect(lines).toEqual([expect.stringContaining('run `npm run build` first')])
      expect(lines[0]).toMatch(/^sms-hook: build\/node\/main\.js is missing/)
      expect(npm.stderr() + npm.stdout()).not.toMatch(/\n\s+at /)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)

  it('runs a stale build, saying so; SIGTERM to npm answers the request in flight, refuses new ones, and every process exits 0', async () => {
    const main = join(ROOT, 'build/node/main.js')
    utimesSync(main, 0, 0) // older than every source: npm start says so, and starts it all the same

    const npm = run('npm', ['start'], {
      env: {
        ...NPM_ENV,
        PORT: '0',
        HOST: '127.0.0.1',
        NODE_ENV: 'production',
        GOTRUE_SMS_PROVIDER: 'console',
        GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET,
      },
    })
    started.push(npm.child.pid!)
    const url = await listeningUrl(npm, 60_000)
    const tree = descendants(npm.child.pid!)
    started.push(...tree)
    expect(npm.stderr()).toContain('sms-hook: build/ is older than src/')
    expect(npm.stderr()).not.toContain('tsc')

    // A hook whose body is still on its way when the signal comes; a second connection, answered, shows that the
    // first was accepted before it.
    const { head, body } = rawSignedPost(signupPayload().body)
    const inFlight = await openRaw(url)
    inFlight.socket.write(head + body.slice(0, 20))
    const probe = await openRaw(url)
    probe.socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
    expect(statusOf(await within(probe.closed, 5000, 'GET /healthz was answered'))).toBe(200)

    npm.child.kill('SIGTERM')
    await npm.waitFor(/"msg":"shutting down/)
    await expect(openRaw(url)).rejects.toMatchObject({ code: 'ECONNREFUSED' })

    inFlight.socket.write(body.slice(20))
    const answer = await within(inFlight.closed, 10_000, 'the hook in flight was answered')
    expect(statusOf(answer)).toBe(200)
    expect(answer.endsWith('\r\n\r\n{}')).toBe(true)

    expect(await within(npm.exited, 10_000, 'npm exited')).toBe(0)
    expect(npm.child.signalCode).toBeNull()
    expect(tree.filter(alive)).toEqual([])
    expect(await portIsFree(Number(new URL(url).port))).toBe(true)
  }, 180_000)
})
