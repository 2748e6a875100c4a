/**
 * `npm start` as a process manager runs it: npm signals only its own child, so SIGTERM to npm must reach the
 * server, which finishes what is in flight and exits 0 with every process of the tree.
 */
import { existsSync, readdirSync, readFileSync, utimesSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
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

describe('npm start', () => {
  it('builds when the build is stale, saying so; SIGTERM to npm answers the request in flight, refuses new ones, and every process exits 0', async () => {
    const main = join(ROOT, 'build/node/main.js')
    if (existsSync(main)) utimesSync(main, 0, 0) // older than every source: npm start builds

    const npm = run('npm', ['start'], {
      env: {
        HOME: process.env.HOME,
        npm_config_update_notifier: 'false',
        PORT: '0',
        HOST: '127.0.0.1',
        NODE_ENV: 'production',
        GOTRUE_SMS_PROVIDER: 'console',
        GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET,
      },
    })
    started.push(npm.child.pid!)
    const url = await listeningUrl(npm, 120_000)
    const tree = descendants(npm.child.pid!)
    started.push(...tree)
    expect(npm.stderr()).toContain('sms-hook: building (tsc)...')

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
