import { afterEach, describe, expect, inject, it, vi } from 'vitest'
import { parseConfig } from '../../src/config/index.js'
import { createJsonLogger } from '../../src/log.js'
import { parseServerConfig } from '../../src/node/config.js'
import { REQUEST_GRACE_MS, startNodeServer, type NodeServer } from '../../src/node/server.js'
import { ScriptedProvider, type LogLine } from '../support/app.js'
import { signupPayload } from '../support/payloads.js'
import { gotrueHeaders, SECRET, signedPost } from '../support/sign.js'
import { aliyunEnv, callsFor, uniqueMainlandPhone } from '../providers/aliyun/fake.js'
import { openRaw, rawSignedPost, statusOf, within, type RawClient } from './socket.js'
import { freePort } from '../support/redis.js'

const servers: NodeServer[] = []
afterEach(async () => {
  await Promise.allSettled(
    servers.splice(0).map((s) => {
      const closed = s.close()
      s.server.closeAllConnections() // the raw clients some tests leave open
      return closed
    }),
  )
})

/** A server on a free loopback port; `logs` holds what it logged, as parsed JSON lines. */
const start = async (env: Record<string, string> = {}, provider?: ScriptedProvider) => {
  const settings = {
    GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET,
    NODE_ENV: 'development',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'debug',
    ...env,
  }
  const config = parseConfig(settings)
  const logs: LogLine[] = []
  const logger = createJsonLogger({ level: config.logLevel, write: (line) => logs.push(JSON.parse(line) as LogLine) })
  const overrides = provider ? { providers: { [config.routing.providers[0]!.name]: provider } } : {}
  // Production's metrics port on a free port, not 9464, which other hooks on this machine may hold.
  const server = await startNodeServer(config, parseServerConfig(settings), {
    logger,
    defaultMetricsPort: 0,
    ...overrides,
  })
  servers.push(server)
  return Object.assign(server, { logs })
}

describe('a real listening Node server', () => {
  it('verifies, delivers and answers over TCP', async () => {
    const { url } = await start()
    const { body, otp } = signupPayload()
    const response = await fetch(`${url}/send-sms`, signedPost(body))
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await response.text()).toBe('{}')
    const inbox = (await (await fetch(`${url}/dev/inbox.json`)).json()) as { otp: string }[]
    expect(inbox[0]?.otp).toBe(otp)
  })

  it('answers 401 to an unsigned request over TCP', async () => {
    const { url } = await start()
    const response = await fetch(`${url}/send-sms`, { method: 'POST', body: signupPayload().body })
    expect(response.status).toBe(401)
  })

  it("serves the development inbox to a loopback client, by the socket's real address", async () => {
    const { url } = await start()
    expect((await fetch(`${url}/dev/inbox.json`)).status).toBe(200)
  })

  it('in production serves the inbox only with its token, even to a loopback client (a reverse proxy on this host)', async () => {
    const token = 'inbox-token-0123456789'
    const { url } = await start({ NODE_ENV: 'production', GOTRUE_SMS_PROVIDER: 'console', SMS_HOOK_INBOX_TOKEN: token })
    expect((await fetch(`${url}/dev/inbox.json`)).status).toBe(401)
    expect((await fetch(`${url}/dev/inbox.json`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
  })

  it('sends through the official Aliyun SDK by default, and through fetch when GOTRUE_SMS_ALIYUN_TRANSPORT=fetch', async () => {
    for (const [transport, userAgent] of [
      [undefined, /AlibabaCloud.*sms-hook/],
      ['fetch', /^sms-hook$/],
    ] as const) {
      const env = aliyunEnv(transport ? { GOTRUE_SMS_ALIYUN_TRANSPORT: transport } : {}) as Record<string, string>
      const { url } = await start({ ...env, NODE_ENV: 'production' })
      const { body, uuid } = signupPayload({ phone: uniqueMainlandPhone() })
      const response = await fetch(`${url}/send-sms`, signedPost(body))
      expect(await response.text()).toBe('{}')
      const calls = await callsFor(uuid)
      expect(calls).toHaveLength(1)
      expect(calls[0]?.userAgent).toMatch(userAgent)
    }
  })

  it('finishes an in-flight hook when closed, then stops accepting', async () => {
    let release!: () => void
    const released = new Promise<void>((r) => (release = r))
    let markStarted!: () => void
    const started = new Promise<void>((r) => (markStarted = r))
    const provider = new ScriptedProvider(async (m) => {
      markStarted()
      await released
      return { messageId: m.reference }
    })
    const server = await start({}, provider)
    const inFlight = fetch(`${server.url}/send-sms`, signedPost(signupPayload().body))
    await started
    const closed = server.close()
    release()
    const response = await inFlight
    expect(response.status).toBe(200)
    // Told that the connection ends with this answer, so no client reuses it; shutdown does not wait for it.
    expect(response.headers.get('connection')).toBe('close')
    await closed
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow()
  })
})

describe('slow and hostile clients', () => {
  // GoTrue writes each request at once and gives up after 5 s: a request still arriving SMS_HOOK_TIMEOUT_MS + 1 s
  // after it began is not GoTrue's. 300 ms keeps these tests short.
  const env = { SMS_HOOK_TIMEOUT_MS: '300' }
  const requestTimeoutMs = 1300

  it('answers 408 and closes the connection when the body is still arriving after the timeout, calling no provider', async () => {
    const provider = new ScriptedProvider()
    const server = await start(env, provider)
    const { head, body } = rawSignedPost(signupPayload().body)
    const began = performance.now()
    const client = await openRaw(server.url)
    client.socket.write(head)
    client.trickle(body, 50)
    const received = await within(client.closed, 10_000, 'the connection was closed')
    expect(statusOf(received)).toBe(408)
    expect(performance.now() - began).toBeGreaterThanOrEqual(requestTimeoutMs - 50)
    expect(provider.calls).toHaveLength(0)
    // The hook was still reading the body when Node cut the connection: not an error of ours.
    await vi.waitFor(() =>
      expect(server.logs.map((l) => l.msg)).toContain('request body incomplete: the connection closed'),
    )
    expect(server.logs.filter((l) => l.level === 'error')).toEqual([])
  })

  it('answers 408 and closes the connection when the headers never end, and closes a silent connection at the request timeout', async () => {
    const server = await start(env)
    const trickling = await openRaw(server.url)
    trickling.trickle(rawSignedPost(signupPayload().body).head.repeat(100), 50)
    const began = performance.now()
    const silent = await openRaw(server.url)
    const [fromTrickling, fromSilent] = await within(
      Promise.all([trickling.closed, silent.closed]),
      10_000,
      'both connections were closed',
    )
    expect(statusOf(fromTrickling)).toBe(408)
    expect(statusOf(fromSilent)).toBe(408)
    // Counted from the connection's opening, with nothing sent at all.
    expect(performance.now() - began).toBeGreaterThanOrEqual(requestTimeoutMs - 50)
  })

  it('gives a connection that sends nothing SMS_HOOK_TIMEOUT_MS + 1 s by default: 5.5 s', async () => {
    const server = await start()
    expect(server.server.headersTimeout).toBe(4500 + REQUEST_GRACE_MS)
    expect(server.server.requestTimeout).toBe(4500 + REQUEST_GRACE_MS)
  })

  it('keeps idle keep-alive connections 65 s, longer than the load balancers in front keep theirs', async () => {
    const server = await start(env)
    const response = await fetch(`${server.url}/healthz`)
    expect(response.headers.get('keep-alive')).toBe('timeout=65')
  })
})

describe('SMS_HOOK_MAX_CONNECTIONS', () => {
  /** A connection that has had one answer and stays open, as a keep-alive client leaves it between requests. */
  const keptAlive = async (url: string) => {
    const client = await openRaw(url)
    client.socket.write(healthz)
    await vi.waitFor(() => expect(answers(client.received())).toBe(1))
    return client
  }
  const healthz = 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n'
  /** How many 200 answers are in what a raw connection received. */
  const answers = (received: string) => received.match(/HTTP\/1\.1 200 /g)?.length ?? 0

  /** A signed GoTrue call on a new connection, written at once as GoTrue writes it. */
  const gotrueCall = async (url: string) => {
    const client = await openRaw(url)
    const { head, body } = rawSignedPost(signupPayload().body)
    client.socket.write(head + body)
    return client
  }
  const answered = (client: RawClient) =>
    vi.waitFor(
      () => {
        expect(statusOf(client.received())).toBe(200)
        expect(client.received().endsWith('\r\n\r\n{}')).toBe(true)
      },
      { timeout: 5000 },
    )

  it('at the cap, closes the connection idle longest for a new one: kept-alive and silent clients cannot lock GoTrue out', async () => {
    const server = await start({ SMS_HOOK_MAX_CONNECTIONS: '4' })
    const kept = [await keptAlive(server.url), await keptAlive(server.url)]
    const silent = [await openRaw(server.url), await openRaw(server.url), await openRaw(server.url)]
    // The fifth connection took the place of the first kept alive, idle since its answer.
    expect(answers(await within(kept[0]!.closed, 5000, 'the connection idle longest was closed'))).toBe(1)

    const first = await gotrueCall(server.url)
    await answered(first)
    await within(kept[1]!.closed, 5000, 'the next connection idle longest was closed')

    // GoTrue's connection is idle again since its answer, the silent ones since they opened: the next call closes
    // the first of them, which never had an answer.
    const second = await gotrueCall(server.url)
    await answered(second)
    expect(await within(silent[0]!.closed, 5000, 'the silent connection idle longest was closed')).toBe('')

    // The others are still open and served.
    const rest = [silent[1]!, silent[2]!, first, second]
    for (const client of rest) client.socket.write(healthz)
    await vi.waitFor(() => expect(rest.map((c) => answers(c.received()))).toEqual([1, 1, 2, 2]), { timeout: 5000 })
  })

  it('never closes a connection with a request in progress, and refuses a new one only when all have one', async () => {
    let release!: () => void
    const released = new Promise<void>((r) => (release = r))
    const provider = new ScriptedProvider(async (m) => {
      await released
      return { messageId: m.reference }
    })
    const server = await start({ SMS_HOOK_MAX_CONNECTIONS: '2' }, provider)
    const waiting = await gotrueCall(server.url)
    await vi.waitFor(() => expect(provider.calls).toHaveLength(1))
    const kept = await keptAlive(server.url)

    // Two connections at the cap: the idle one makes room, the one waiting for its provider stays.
    const next = await gotrueCall(server.url)
    await within(kept.closed, 5000, 'the idle connection was closed')
    await vi.waitFor(() => expect(provider.calls).toHaveLength(2))

    const extra = await openRaw(server.url)
    expect(await within(extra.closed, 5000, 'the connection over the cap was closed')).toBe('')

    release()
    await answered(waiting)
    await answered(next)
    // Idle again: a new connection is served in the place of one of them.
    await answered(await gotrueCall(server.url))
  })
})

describe('what unauthenticated clients can put in the log', () => {
  it('logs a client that goes away mid-body as one warn line, without a stack', async () => {
    const server = await start()
    const { head, body } = rawSignedPost(signupPayload().body)
    const chunkedHead = head.replace(/content-length: \d+\r\n/, 'transfer-encoding: chunked\r\n')
    for (const partial of [head + body.slice(0, 10), `${chunkedHead}a\r\n${body.slice(0, 10)}\r\n`]) {
      const client = await openRaw(server.url)
      client.socket.write(partial, () => client.socket.destroy())
      await client.closed
    }
    await vi.waitFor(() => expect(server.logs.filter((l) => l.level === 'warn')).toHaveLength(2), { timeout: 5000 })
    expect(server.logs.filter((l) => l.level === 'error')).toEqual([])
    for (const line of server.logs.filter((l) => l.level === 'warn')) {
      expect(line).toEqual({
        level: 'warn',
        time: expect.any(String),
        msg: 'request body incomplete: the connection closed',
        path: '/send-sms',
        remote_address: '127.0.0.1',
      })
    }
  })

  it("cuts a 10 KB webhook-id to 64 characters and logs the caller's address with a rejected signature", async () => {
    const server = await start()
    const { body } = signupPayload()
    const id = 'x'.repeat(10 * 1024)
    const response = await fetch(`${server.url}/send-sms`, {
      method: 'POST',
      headers: { ...gotrueHeaders(body), 'webhook-id': id },
      body,
    })
    expect(response.status).toBe(401)
    const line = server.logs.find((l) => l.msg === 'hook signature rejected')
    expect(line).toMatchObject({ level: 'warn', reason: 'no_matching_signature', remote_address: '127.0.0.1' })
    expect(line?.webhook_id).toMatch(/^x{1,64}/)
    expect(String(line?.webhook_id).length).toBeLessThanOrEqual(64)
    expect(JSON.stringify(line).length).toBeLessThan(1024)
  })
})

describe('readiness', () => {
  it('is ready at once with the in-memory state', async () => {
    const { url } = await start()
    const response = await fetch(`${url}/readyz`)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ status: 'ready' })
  })

  it.skipIf(inject('redis').url === '')('is ready once Redis answers, and shares its keys there', async () => {
    const { url } = await start({
      REDIS_URL: inject('redis').url,
      SMS_HOOK_REDIS_PREFIX: `sms-hook-test:${crypto.randomUUID()}:`,
    })
    await expect.poll(async () => (await fetch(`${url}/readyz`)).status, { timeout: 5000 }).toBe(200)
    const { body } = signupPayload()
    expect(await (await fetch(`${url}/send-sms`, signedPost(body))).text()).toBe('{}')
    expect(await (await fetch(`${url}/send-sms`, signedPost(body))).text()).toBe('{}')
    const metrics = await (await fetch(`${url}/metrics`)).text()
    expect(metrics).toContain('sms_hook_hooks_total{outcome="replayed"} 1')
  })

  it('says not ready within about a second when Redis is unreachable, while the hook and /healthz still answer', async () => {
    const { url } = await start({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` })
    const started = performance.now()
    const response = await fetch(`${url}/readyz`)
    // About a second (the readiness probe's own bound); generous here for a loaded machine.
    expect(performance.now() - started).toBeLessThan(3000)
    expect(response.status).toBe(503)
    // Fixed words for anyone who asks; the cause (refused, on which address) is for the log.
    expect(await response.json()).toEqual({ status: 'not_ready', reason: 'shared state not answering' })
    expect((await fetch(`${url}/healthz`)).status).toBe(200)
    expect(await (await fetch(`${url}/send-sms`, signedPost(signupPayload().body))).text()).toBe('{}')
  })
})
