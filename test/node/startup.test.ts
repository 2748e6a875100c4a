import { mkdtempSync, readFileSync, statSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { aliyunEnv } from '../providers/aliyun/fake.js'
import { SECRET } from '../support/sign.js'
import { openRaw, rawSignedPost, statusOf, within } from './socket.js'
import { freePort } from '../support/redis.js'
import { listeningUrl, runTs, type Running } from './spawn.js'

const started: Running[] = []
afterEach(() => {
  // A test that fails before it stops its server would leave the server running.
  for (const run of started.splice(0))
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL')
})

const main = (env: Record<string, string>, args: string[] = [], cwd?: string) => {
  const run = runTs('src/node/main.ts', args, {
    env: { PORT: '0', HOST: '127.0.0.1', ...env },
    ...(cwd ? { cwd } : {}),
  })
  started.push(run)
  return run
}

/** Production with the console provider; metrics on a free port of their own rather than 9464, which other hooks on this machine may hold. */
const PRODUCTION = {
  NODE_ENV: 'production',
  GOTRUE_SMS_PROVIDER: 'console',
  GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET,
  SMS_HOOK_METRICS_PORT: '0',
}

/** Exit code 0 after a signal means our handler ran and shut down cleanly; the rest is there to debug a failure. */
const expectCleanExit = async (run: Running) => {
  const code = await run.exited
  expect({ code, signal: run.child.signalCode, stderr: run.stderr() }).toEqual({ code: 0, signal: null, stderr: '' })
}

describe('Node entry start-up', () => {
  it('refuses to start without a secret in production, naming the variable', async () => {
    const run = main({ NODE_ENV: 'production', GOTRUE_SMS_PROVIDER: 'console' })
    expect(await run.exited).toBe(1)
    expect(run.stderr()).toMatch(/invalid configuration: GOTRUE_HOOK_SEND_SMS_SECRETS: is required/)
  })

  it('refuses to start in production without GOTRUE_SMS_PROVIDER', async () => {
    const run = main({ NODE_ENV: 'production', GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET })
    expect(await run.exited).toBe(1)
    expect(run.stderr()).toContain('GOTRUE_SMS_PROVIDER: is required in production')
  })

  it('refuses a bad value, naming it', async () => {
    const run = main({ NODE_ENV: 'development', GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, SMS_HOOK_TIMEOUT_MS: '6000' })
    expect(await run.exited).toBe(1)
    expect(run.stderr()).toContain('SMS_HOOK_TIMEOUT_MS: must be between 100 and 4800')
  })

  it('refuses a guard limit that is no count per window, naming it', async () => {
    const run = main({
      NODE_ENV: 'development',
      GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET,
      SMS_HOOK_LIMIT_PER_IP: '30 an hour',
    })
    expect(await run.exited).toBe(1)
    expect(run.stderr()).toContain(
      'invalid configuration: SMS_HOOK_LIMIT_PER_IP: must be a count per window such as 5/1h',
    )
  })

  it('says at start-up that bare 11-digit numbers are read as +86 when every provider sends to mainland China only', async () => {
    const run = main({ ...PRODUCTION, GOTRUE_SMS_PROVIDER: 'aliyun', ...aliyunEnv(), PORT: '0' })
    await listeningUrl(run)
    expect(JSON.parse(await run.waitFor(/SMS_HOOK_NATIONAL_NUMBERS is unset/))).toMatchObject({ level: 'info' })
  })

  it('refuses a REDIS_URL that is no redis:// URL, without echoing it', async () => {
    const run = main({
      NODE_ENV: 'development',
      GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET,
      REDIS_URL: 'http://:secret@cache:6379',
    })
    expect(await run.exited).toBe(1)
    expect(run.stderr()).toContain(
      'invalid configuration: REDIS_URL: must start with redis://, rediss://, redis+cluster://',
    )
    expect(run.stderr()).not.toContain('secret')
  })

  it('starts with Redis unreachable: not ready, the hook answering, and a clean exit on SIGTERM', async () => {
    const redisUrl = `redis://127.0.0.1:${await freePort()}`
    const run = main({ ...PRODUCTION, REDIS_URL: redisUrl })
    const url = await listeningUrl(run)
    expect(JSON.parse(await run.waitFor(/"msg":"listening"/))).toMatchObject({ state: 'redis' })
    expect((await fetch(`${url}/readyz`)).status).toBe(503)
    expect((await fetch(`${url}/healthz`)).status).toBe(200)
    await run.waitFor(/shared state \(Redis\) connection error/)
    run.child.kill('SIGTERM')
    await expectCleanExit(run)
  })

  it('development mode: makes a secret once, keeps it for restarts, prints the GoTrue settings', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'sms-hook-dev-'))
    const first = main({}, ['--dev'], cwd)
    const url = await listeningUrl(first)
    await first.waitFor(/GOTRUE_HOOK_SEND_SMS_SECRETS=v1,whsec_/)
    const secret = readFileSync(join(cwd, '.sms-hook-dev-secret'), 'utf8').trim()
    expect(statSync(join(cwd, '.sms-hook-dev-secret')).mode & 0o077).toBe(0)
    expect(first.stdout()).toContain(`GOTRUE_HOOK_SEND_SMS_SECRETS=${secret}`)
    expect(first.stdout()).toContain('GOTRUE_HOOK_SEND_SMS_ENABLED=true')
    expect(first.stdout()).toMatch(/GOTRUE_HOOK_SEND_SMS_URI=http:\/\/host\.docker\.internal:\d+\/send-sms/)
    expect((await fetch(`${url}/healthz`)).status).toBe(200)
    first.child.kill('SIGTERM')
    await expectCleanExit(first)

    // NODE_ENV=development asks for it as --dev does.
    const second = main({ NODE_ENV: 'development' }, [], cwd)
    await listeningUrl(second)
    await second.waitFor(/GOTRUE_HOOK_SEND_SMS_SECRETS=/)
    expect(second.stdout()).toContain(`GOTRUE_HOOK_SEND_SMS_SECRETS=${secret}`)
    second.child.kill('SIGINT')
    await expectCleanExit(second)
  })

  it('takes LOG_LEVEL in any case, and names it when it is wrong', async () => {
    const debug = main({ NODE_ENV: 'development', GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, LOG_LEVEL: 'DEBUG' })
    await listeningUrl(debug)
    debug.child.kill('SIGTERM')
    await expectCleanExit(debug)

    const loud = main({ NODE_ENV: 'development', GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, LOG_LEVEL: 'loud' })
    expect(await loud.exited).toBe(1)
    expect(loud.stderr()).toBe(
      'sms-hook: invalid configuration: LOG_LEVEL: must be one of debug, info, warn, error, got "loud"\n',
    )
  })

  it.each([
    ['not-a-host', /^sms-hook: cannot listen: HOST: "not-a-host" cannot be resolved \((ENOTFOUND|EAI_AGAIN)\)$/],
    ['192.0.2.1', /^sms-hook: cannot listen: HOST: 192\.0\.2\.1 is not an address of this machine \(EADDRNOTAVAIL\)$/],
    ['http://0.0.0.0', /^sms-hook: invalid configuration: HOST: must be an IP address or a host name/],
  ])('stops with one line naming HOST when HOST=%s', async (host, line) => {
    const run = main({ NODE_ENV: 'development', GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, HOST: host })
    expect(await run.exited).toBe(1)
    expect(run.stderr().trimEnd().split('\n')).toEqual([expect.stringMatching(line)])
  })

  it('stops with one line naming PORT when the port is in use', async () => {
    const holder = createServer()
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
    const { port } = holder.address() as AddressInfo
    try {
      const run = main({ NODE_ENV: 'development', GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, PORT: String(port) })
      expect(await run.exited).toBe(1)
      expect(run.stderr()).toBe(`sms-hook: cannot listen: PORT: ${port} is already in use on 127.0.0.1 (EADDRINUSE)\n`)
    } finally {
      holder.close()
    }
  })

  it('stops with one line naming SMS_HOOK_METRICS_PORT when that port is in use', async () => {
    const holder = createServer()
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
    const { port } = holder.address() as AddressInfo
    try {
      const run = main({ ...PRODUCTION, SMS_HOOK_METRICS_PORT: String(port) })
      expect(await run.exited).toBe(1)
      expect(run.stderr()).toBe(
        `sms-hook: cannot listen: SMS_HOOK_METRICS_PORT: ${port} is already in use on 127.0.0.1 (EADDRINUSE)\n`,
      )
    } finally {
      holder.close()
    }
  })

  it('says in the listening line where metrics are: in production a port of their own, or the main port with a token', async () => {
    const own = main(PRODUCTION)
    const ownLine = JSON.parse(await own.waitFor(/"msg":"listening"/)) as { url: string; metrics: string }
    expect(ownLine.metrics).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
    expect(ownLine.metrics.startsWith(`${ownLine.url}/`)).toBe(false)
    expect((await fetch(ownLine.metrics)).status).toBe(200)
    expect((await fetch(`${ownLine.url}/metrics`)).status).toBe(404)
    own.child.kill('SIGTERM')
    await expectCleanExit(own)

    const token = 'metrics-token-0123456789'
    const { SMS_HOOK_METRICS_PORT: _, ...withoutPort } = PRODUCTION
    const onMain = main({ ...withoutPort, SMS_HOOK_METRICS_TOKEN: token })
    const mainLine = JSON.parse(await onMain.waitFor(/"msg":"listening"/)) as { url: string; metrics: string }
    expect(mainLine.metrics).toBe(`${mainLine.url}/metrics`)
    expect((await fetch(mainLine.metrics, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
    onMain.child.kill('SIGTERM')
    await expectCleanExit(onMain)
  })

  it('warns at start-up when production uses the console provider, and serves no inbox without a token', async () => {
    const run = main(PRODUCTION)
    const url = await listeningUrl(run)
    const warning = await run.waitFor(/"level":"warn"/)
    expect(warning).toContain('prints every OTP')
    expect(warning).toContain('no inbox is served without SMS_HOOK_INBOX_TOKEN')
    expect((await fetch(`${url}/dev/inbox.json`)).status).toBe(404)
    run.child.kill('SIGTERM')
    await expectCleanExit(run)
  })

  it('is production when NODE_ENV is unset: no made-up secret, no console provider by default', async () => {
    const unset = main({ GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET })
    expect(await unset.exited).toBe(1)
    expect(unset.stderr()).toContain('GOTRUE_SMS_PROVIDER: is required in production')
    const noSecret = main({})
    expect(await noSecret.exited).toBe(1)
    expect(noSecret.stderr()).toContain('GOTRUE_HOOK_SEND_SMS_SECRETS: is required')
  })

  it('refuses an unknown NODE_ENV, naming it', async () => {
    const run = main({ NODE_ENV: 'prod', GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, GOTRUE_SMS_PROVIDER: 'console' })
    expect(await run.exited).toBe(1)
    expect(run.stderr()).toContain(
      'invalid configuration: NODE_ENV: must be production, development or test, got "prod"',
    )
  })

  it('development mode says it listens on all interfaces and that the inbox is for private networks', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'sms-hook-dev-'))
    const run = runTs('src/node/main.ts', ['--dev'], { env: { PORT: '0' }, cwd })
    await listeningUrl(run)
    await run.waitFor(/private networks only/)
    expect(run.stdout()).toContain('Listening on all interfaces (GoTrue in Docker reaches it as host.docker.internal)')
    run.child.kill('SIGTERM')
    await expectCleanExit(run)
  })
})

describe('Node entry shutdown', () => {
  it('on SIGTERM closes idle connections and clients still sending, and exits 0', async () => {
    const run = main({ ...PRODUCTION, SMS_HOOK_TIMEOUT_MS: '300' })
    const url = await listeningUrl(run)
    // A fresh connection is busy from its first byte on; one answer on a later connection shows it was accepted.
    const trickling = await openRaw(url)
    trickling.trickle(rawSignedPost('{"sms":{}}').head, 100)
    const idle = await openRaw(url)
    idle.socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n')
    await vi.waitFor(() => expect(statusOf(idle.received())).toBe(200), { timeout: 5000 })

    run.child.kill('SIGTERM')
    await within(idle.closed, 5000, 'the idle keep-alive connection was closed')
    expect(statusOf(await within(trickling.closed, 10_000, 'the connection still sending was closed'))).toBeUndefined()
    await expectCleanExit(run)
  })
})
