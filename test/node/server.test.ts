import { afterEach, describe, expect, inject, it } from 'vitest'
import { parseConfig } from '../../src/config/index.js'
import { silentLogger } from '../../src/log.js'
import { startNodeServer, type NodeServer } from '../../src/node/server.js'
import { ScriptedProvider } from '../support/app.js'
import { signupPayload } from '../support/payloads.js'
import { SECRET, signedPost } from '../support/sign.js'
import { aliyunEnv, callsFor, uniqueMainlandPhone } from '../providers/aliyun/fake.js'
import { freePort } from '../support/redis.js'

const servers: NodeServer[] = []
afterEach(async () => {
  await Promise.allSettled(servers.splice(0).map((s) => s.close()))
})

const start = async (env: Record<string, string> = {}, provider?: ScriptedProvider) => {
  const config = parseConfig({ GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, NODE_ENV: 'development', ...env })
  const server = await startNodeServer(config, { port: 0, host: '127.0.0.1', metrics: { port: undefined, token: undefined } }, { logger: silentLogger, ...(provider ? { providers: [provider] } : {}) })
  servers.push(server)
  return server
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

  it('serves the development inbox to a loopback client, by the socket\'s real address', async () => {
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
    await closed
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow()
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
    const { url } = await start({ REDIS_URL: inject('redis').url, SMS_HOOK_REDIS_PREFIX: `sms-hook-test:${crypto.randomUUID()}:` })
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
    expect(performance.now() - started).toBeLessThan(1500)
    expect(response.status).toBe(503)
    expect(await response.json()).toEqual({ status: 'not_ready', reason: expect.stringMatching(/^shared state: redis: /) })
    expect((await fetch(`${url}/healthz`)).status).toBe(200)
    expect(await (await fetch(`${url}/send-sms`, signedPost(signupPayload().body))).text()).toBe('{}')
  })
})
