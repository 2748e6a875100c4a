/**
 * Delivery receipts over the whole path, against real listening servers: GoTrue's signed hook call, the send
 * through the fake vendor endpoints, the vendor's report pushed back the way the vendor pushes it (Aliyun's and
 * Tencent's JSON arrays to the token path, Twilio's signed status callback, its signature computed by the
 * official `twilio` package), then the support lookup and the metrics. Once on memory state and once on a Redis
 * server of this suite's own, where two replicas share the records and the state is searched for any number or
 * code in clear.
 */
import { Redis } from 'ioredis'
import twilio from 'twilio'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest'
import type { Clock } from '../../src/clock.js'
import type { Env } from '../../src/config/index.js'
import { parseConfig } from '../../src/config/index.js'
import { RECONCILE_EVERY_MS } from '../../src/delivery/reconcile.js'
import { createJsonLogger } from '../../src/log.js'
import { parseServerConfig } from '../../src/node/config.js'
import { startNodeServer, type NodeServer } from '../../src/node/server.js'
import { FAKE_TWILIO } from '../fakes/vendor-accounts.js'
import type { FakeCall as VendorCall } from '../fakes/vendor-fake.js'
import { aliyunEnv, callsFor, report, script, uniqueMainlandPhone } from '../providers/aliyun/fake.js'
import { chinaText } from '../receipts/support.js'
import { smsReport } from '../fakes/aliyun-reports.js'
import type { LogLine } from '../support/app.js'
import { numberHash } from '../support/number-key.js'
import { signupPayload } from '../support/payloads.js'
import { findRedisServer, freePort, startRedisServer, type RedisServer } from '../support/redis.js'
import { vendorEnv } from '../support/routing.js'
import { SECRET, signedPost } from '../support/sign.js'

const TOKEN = 'e2e-receipts-token-0123456789'
const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef'
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` }

type Server = NodeServer & { logs: LogLine[] }

interface Entry {
  reference: string
  provider: string
  status: string
  vendor_message_id: string | null
  vendor_code: string | null
  sent_at: string
  status_at: string
  to: string
}

const servers: Server[] = []
afterEach(async () => {
  vi.restoreAllMocks()
  await Promise.allSettled(servers.splice(0).map((s) => s.close()))
})

/** The number masked as the log and the lookup mask it, computed here: the last four, and at most five leading digits. */
const masked = (e164: string) => `${e164.slice(0, Math.min(5, e164.length - 8))}****${e164.slice(-4)}`

/** A unique number of the North American plan, for Twilio. */
const uniqueUsPhone = () => `1415${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`

/**
 * A production server on a loopback port (`port`, or a free one), with receipts, the lookup and the metrics on
 * a port of their own, on `clock` when given (the providers sign with it too: the fakes allow minutes of skew);
 * `logs` holds what it logged. The velocity limits per address are off (every call of
 * this suite comes from one), the one per number stays as it ships, so its counter is in the state.
 */
const start = async (env: Env, options: { port?: number; clock?: Clock } = {}): Promise<Server> => {
  const settings = {
    GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET,
    NODE_ENV: 'production',
    PORT: String(options.port ?? 0),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    SMS_HOOK_RECEIPTS_TOKEN: TOKEN,
    SMS_HOOK_ADMIN_TOKEN: ADMIN_TOKEN,
    SMS_HOOK_LIMIT_PER_IP: 'off',
    SMS_HOOK_LIMIT_PER_NETWORK: 'off',
    ...env,
  } as Record<string, string>
  const config = parseConfig(settings)
  const logs: LogLine[] = []
  const logger = createJsonLogger({ level: config.logLevel, write: (line) => logs.push(JSON.parse(line) as LogLine) })
  const server = Object.assign(
    await startNodeServer(config, parseServerConfig(settings), {
      logger,
      defaultMetricsPort: 0,
      ...(options.clock ? { clock: options.clock } : {}),
    }),
    { logs },
  )
  servers.push(server)
  // Redis connects as the server starts, without holding it up: a call before that would go without the state.
  await vi.waitFor(async () => expect((await fetch(`${server.url}/readyz`)).status).toBe(200), { timeout: 5000 })
  return server
}

/** A signed hook call, answered as a send GoTrue counts as done. */
const hook = async (server: Server, payload: { body: string }) => {
  const response = await fetch(`${server.url}/send-sms`, signedPost(payload.body))
  expect(response.status).toBe(200)
  expect(await response.text()).toBe('{}')
}

const lookup = async (server: Server, path: string) => {
  const response = await fetch(`${server.url}/deliveries${path}`, { headers: ADMIN })
  return { status: response.status, body: (await response.json()) as unknown }
}

/** The entry of one send, once the hook (which records past its answer) has kept it with `status`. */
const entryOnce = async (server: Server, reference: string, status: string): Promise<Entry> =>
  vi.waitFor(
    async () => {
      const { status: http, body } = await lookup(server, `/${reference}`)
      expect(http).toBe(200)
      expect((body as Entry).status).toBe(status)
      return body as Entry
    },
    { timeout: 5000, interval: 25 },
  )

const deliveriesTo = async (server: Server, phone: string): Promise<Entry[]> => {
  const { status, body } = await lookup(server, `?to=${phone}`)
  expect(status).toBe(200)
  return (body as { deliveries: Entry[] }).deliveries
}

/** Prometheus text as scraped from the server's metrics port. */
const scrape = async (server: Server) => {
  expect(server.metricsUrl).toBeDefined()
  const response = await fetch(server.metricsUrl!)
  expect(response.status).toBe(200)
  return response.text()
}

/** The value of the sample `name` with exactly `labels`, read from the text format whatever the label order. */
const sample = (text: string, name: string, labels: Record<string, string>): number | undefined => {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!match || match[1] !== name) continue
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    )
    const same =
      Object.keys(found).length === Object.keys(labels).length &&
      Object.entries(labels).every(([key, value]) => found[key] === value)
    if (same) return Number(match[3])
  }
  return undefined
}

/** Every `sms_hook_receipts_total` sample, for comparing before and after. */
const receiptSamples = (text: string) =>
  text
    .split('\n')
    .filter((line) => line.startsWith('sms_hook_receipts_total{'))
    .sort()

/** An Aliyun SmsReport as its HTTP batch push writes it (the number in clear, times in China time). */
const aliyunReport = (fields: Record<string, unknown>) =>
  smsReport({
    phone_number: '',
    send_time: chinaText(Date.now()),
    report_time: chinaText(Date.now() + 1000),
    ...fields,
  })

/** POSTs a JSON batch to a token path exactly as Aliyun's push client does. */
const pushAliyun = (server: Server, reports: unknown[], token = TOKEN) =>
  fetch(`${server.url}/receipts/aliyun/${token}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json;charset=UTF-8',
      'user-agent': 'Apache-HttpClient/4.5.13 (Java/1.8.0)',
    },
    body: JSON.stringify(reports),
  })

const pushTencent = (server: Server, reports: unknown[]) =>
  fetch(`${server.url}/receipts/tencent/${TOKEN}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(reports),
  })

/** Every call the fake vendor `name` received for `key` (the recipient's digits). */
const vendorCalls = async (name: 'twilio' | 'tencent', key: string): Promise<VendorCall[]> => {
  const response = await fetch(`${inject('vendorUrls')[name]}/__calls?key=${encodeURIComponent(key)}`)
  return (await response.json()) as VendorCall[]
}

/** Sends to `phone` through Aliyun on `server` and waits for the kept send; answers its payload and entry. */
const sendThroughAliyun = async (server: Server, phone = uniqueMainlandPhone()) => {
  const payload = signupPayload({ phone })
  await hook(server, payload)
  const calls = await callsFor(payload.uuid)
  expect(calls).toHaveLength(1)
  expect(calls[0]).toMatchObject({ action: 'SendSms', signatureValid: true, params: { OutId: payload.uuid } })
  const entry = await entryOnce(server, payload.uuid, 'accepted')
  expect(entry.vendor_message_id).toBe(calls[0]!.bizId)
  return { ...payload, bizId: calls[0]!.bizId!, entry }
}

const redisBinary = findRedisServer()

const STATES = [
  { name: 'memory', redis: false },
  { name: 'Redis', redis: true },
] as const

for (const state of STATES) {
  describe.skipIf(state.redis && redisBinary === undefined)(`receipts end to end on ${state.name} state`, () => {
    let redis: RedisServer | undefined
    beforeAll(async () => {
      if (state.redis) redis = await startRedisServer({ binary: redisBinary })
    }, 15_000)
    afterAll(async () => {
      await redis?.stop()
    })

    /** The state settings of one server, or of replicas sharing `prefix`; a fresh prefix per case by default. */
    const stateEnv = (prefix = `e2e-${crypto.randomUUID()}:`): Env =>
      state.redis ? { REDIS_URL: redis!.url, SMS_HOOK_REDIS_PREFIX: prefix } : {}

    it('Aliyun: a send, its SmsReport pushed to the token path, the lookup and the metrics', async () => {
      const server = await start({ ...aliyunEnv(), ...stateEnv() })
      const sent = await sendThroughAliyun(server)
      expect(sent.entry).toEqual({
        reference: sent.uuid,
        provider: 'aliyun',
        status: 'accepted',
        vendor_message_id: sent.bizId,
        vendor_code: null,
        sent_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        status_at: sent.entry.sent_at,
        to: masked(sent.phone),
      })

      const response = await pushAliyun(server, [
        aliyunReport({ phone_number: sent.phone.slice(2), biz_id: sent.bizId, out_id: sent.uuid }),
      ])
      expect(response.status).toBe(200)
      expect(Buffer.from(await response.arrayBuffer()).toString('utf8')).toBe('{"code":0,"msg":"接收成功"}')

      const entry = await entryOnce(server, sent.uuid, 'delivered')
      expect(entry).toMatchObject({ vendor_code: 'DELIVERED', vendor_message_id: sent.bizId, to: masked(sent.phone) })
      expect(Date.parse(entry.status_at)).toBeGreaterThanOrEqual(Date.parse(entry.sent_at))
      expect(await deliveriesTo(server, sent.phone)).toEqual([entry])
      // With the `+` GoTrue may write, encoded as a form would.
      expect(await deliveriesTo(server, encodeURIComponent(`+${sent.phone}`))).toEqual([entry])

      const metrics = await scrape(server)
      expect(sample(metrics, 'sms_hook_receipts_total', { provider: 'aliyun', status: 'delivered' })).toBe(1)
      expect(sample(metrics, 'sms_hook_delivery_seconds_count', { provider: 'aliyun' })).toBe(1)
      expect(
        sample(metrics, 'sms_hook_delivery_statuses_total', { provider: 'aliyun', country: '86', status: 'delivered' }),
      ).toBe(1)
      expect(server.logs.some((l) => JSON.stringify(l).includes(sent.phone))).toBe(false)

      // A wrong token: the app's 404, nothing moved, nothing counted.
      const wrong = await pushAliyun(
        server,
        [aliyunReport({ success: false, err_code: 'MK:0001', biz_id: sent.bizId, out_id: sent.uuid })],
        'not-the-token-0123456789abc',
      )
      expect(wrong.status).toBe(404)
      expect(await wrong.json()).toEqual({ error: { http_code: 404, message: 'Not found' } })
      expect(receiptSamples(await scrape(server))).toEqual(receiptSamples(metrics))
      expect((await lookup(server, `/${sent.uuid}`)).body).toEqual(entry)
    })

    it('the lookup: 401 without the admin token, 404 for a reference never kept, an empty list for a quiet number', async () => {
      const server = await start({ ...aliyunEnv(), ...stateEnv() })
      for (const headers of [{}, { authorization: 'Bearer not-the-admin-token-0123' }] as Record<string, string>[]) {
        const response = await fetch(`${server.url}/deliveries?to=8613800138000`, { headers })
        expect(response.status).toBe(401)
        expect(response.headers.get('www-authenticate')).toBe('Bearer')
      }
      expect((await lookup(server, `/${crypto.randomUUID()}`)).status).toBe(404)
      expect(await deliveriesTo(server, uniqueMainlandPhone())).toEqual([])
    })

    it('Twilio: StatusCallback on the send, the signed callback delivered, a bad signature 403, undelivered failed', async () => {
      const port = await freePort()
      const publicUrl = `http://127.0.0.1:${port}`
      const server = await start(
        { ...vendorEnv(), SMS_HOOK_ROUTES: '*=twilio', SMS_HOOK_PUBLIC_URL: publicUrl, ...stateEnv() },
        { port },
      )
      const callback = async (to: string, reference: string, fields: Record<string, string>, signature?: string) => {
        const url = `${publicUrl}/receipts/twilio?ref=${reference}`
        const params = {
          ApiVersion: '2010-04-01',
          AccountSid: FAKE_TWILIO.accountSid,
          From: FAKE_TWILIO.from,
          To: `+${to}`,
          ...fields,
        }
        return fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
            'user-agent': 'TwilioProxy/1.1',
            'x-twilio-signature': signature ?? twilio.getExpectedTwilioSignature(FAKE_TWILIO.authToken, url, params),
          },
          body: new URLSearchParams(params).toString(),
        })
      }
      const sendOne = async () => {
        const payload = signupPayload({ phone: uniqueUsPhone() })
        await hook(server, payload)
        const calls = await vendorCalls('twilio', payload.phone)
        expect(calls).toHaveLength(1)
        expect(calls[0]).toMatchObject({ accepted: true, answer: { status: 201 } })
        expect(calls[0]!.params.StatusCallback).toBe(`${publicUrl}/receipts/twilio?ref=${payload.uuid}`)
        const entry = await entryOnce(server, payload.uuid, 'accepted')
        expect(entry.vendor_message_id).toMatch(/^SM[0-9a-f]{32}$/)
        return { ...payload, sid: entry.vendor_message_id! }
      }

      const sent = await sendOne()
      const forged = await callback(
        sent.phone,
        sent.uuid,
        { MessageSid: sent.sid, SmsSid: sent.sid, MessageStatus: 'failed', SmsStatus: 'failed', ErrorCode: '30008' },
        twilio.getExpectedTwilioSignature('another-auth-token', `${publicUrl}/receipts/twilio?ref=${sent.uuid}`, {}),
      )
      expect(forged.status).toBe(403)
      expect((await lookup(server, `/${sent.uuid}`)).body).toMatchObject({ status: 'accepted' })
      const afterForged = await scrape(server)
      expect(sample(afterForged, 'sms_hook_receipts_total', { provider: 'twilio', status: 'refused' })).toBe(1)

      for (const status of ['sent', 'delivered']) {
        const response = await callback(sent.phone, sent.uuid, {
          MessageSid: sent.sid,
          SmsSid: sent.sid,
          MessageStatus: status,
          SmsStatus: status,
          MessagingServiceSid: FAKE_TWILIO.messagingServiceSid,
        })
        expect(response.status).toBeGreaterThanOrEqual(200)
        expect(response.status).toBeLessThan(300)
      }
      const delivered = await entryOnce(server, sent.uuid, 'delivered')
      expect(delivered).toMatchObject({ provider: 'twilio', vendor_message_id: sent.sid, to: masked(sent.phone) })
      expect(await deliveriesTo(server, sent.phone)).toEqual([delivered])

      const lost = await sendOne()
      const response = await callback(lost.phone, lost.uuid, {
        MessageSid: lost.sid,
        SmsSid: lost.sid,
        MessageStatus: 'undelivered',
        SmsStatus: 'undelivered',
        ErrorCode: '30003',
      })
      expect(response.status).toBeLessThan(300)
      expect(await entryOnce(server, lost.uuid, 'failed')).toMatchObject({ vendor_code: '30003' })

      const metrics = await scrape(server)
      expect(sample(metrics, 'sms_hook_receipts_total', { provider: 'twilio', status: 'refused' })).toBe(1)
      expect(sample(metrics, 'sms_hook_receipts_total', { provider: 'twilio', status: 'delivered' })).toBe(1)
      expect(sample(metrics, 'sms_hook_receipts_total', { provider: 'twilio', status: 'failed' })).toBe(1)
    })

    it('Tencent: SessionContext is the reference, and a FAIL report makes the send failed', async () => {
      const server = await start({ ...vendorEnv(), SMS_HOOK_ROUTES: '*=tencent', ...stateEnv() })
      const payload = signupPayload({ phone: uniqueMainlandPhone() })
      await hook(server, payload)
      const calls = await vendorCalls('tencent', payload.phone)
      expect(calls).toHaveLength(1)
      expect(calls[0]).toMatchObject({ accepted: true, params: { SessionContext: payload.uuid } })
      const sent = await entryOnce(server, payload.uuid, 'accepted')
      expect(sent.vendor_message_id).toMatch(/^2433:\d+$/)

      const response = await pushTencent(server, [
        {
          user_receive_time: chinaText(Date.now()),
          nationcode: '86',
          mobile: payload.phone.slice(2),
          report_status: 'FAIL',
          errmsg: 'MK:0001',
          description: '空号',
          sid: sent.vendor_message_id,
          ext: payload.uuid,
        },
      ])
      expect(response.status).toBe(200)
      expect(await response.text()).toBe('{"result":0,"errmsg":"OK"}')
      const failed = await entryOnce(server, payload.uuid, 'failed')
      expect(failed).toMatchObject({ provider: 'tencent', vendor_code: 'MK:0001', to: masked(payload.phone) })
      expect(await deliveriesTo(server, payload.phone)).toEqual([failed])
      const metrics = await scrape(server)
      expect(sample(metrics, 'sms_hook_receipts_total', { provider: 'tencent', status: 'failed' })).toBe(1)
      expect(sample(metrics, 'sms_hook_delivery_seconds_count', { provider: 'tencent' })).toBe(0)
    })

    it('an unknown outcome (the gateway took the SMS, its answer never came) is reconciled by QuerySendDetails', async () => {
      // The server on a clock that can be moved past the first question (45 s after the send), and its
      // reconciliation timer caught, so that its tick runs now rather than 15 s from now.
      let shift = 0
      const clock = { now: () => Date.now() + shift }
      const interval = vi.spyOn(globalThis, 'setInterval')
      const settings = { ...aliyunEnv({ GOTRUE_SMS_ALIYUN_TRANSPORT: 'fetch' }), SMS_HOOK_TIMEOUT: '600ms' }
      const env = { ...settings, ...stateEnv() }
      const server = await start(env, { clock })
      const tick = interval.mock.calls.find(([, ms]) => ms === RECONCILE_EVERY_MS)?.[0] as (() => void) | undefined
      expect(tick).toBeTypeOf('function')
      interval.mockRestore()

      const payload = signupPayload({ phone: uniqueMainlandPhone() })
      await script(payload.uuid, { hang: true, taken: true })
      await hook(server, payload)
      const unknown = await entryOnce(server, payload.uuid, 'unknown')
      expect(unknown).toMatchObject({ provider: 'aliyun', vendor_message_id: null, to: masked(payload.phone) })
      const [taken] = await callsFor(payload.uuid)
      expect(taken).toMatchObject({ action: 'SendSms', answer: 'hang', bizId: expect.any(String) })

      // Not due yet: the tick asks nothing.
      tick!()
      await new Promise((resolve) => setTimeout(resolve, 100))
      expect((await callsFor(payload.phone.slice(2))).filter((c) => c.action === 'QuerySendDetails')).toEqual([])

      await report(payload.uuid, 'delivered')
      shift = 46_000
      tick!()
      const delivered = await vi.waitFor(
        async () => {
          const entry = (await lookup(server, `/${payload.uuid}`)).body as Entry
          expect(entry.status).toBe('delivered')
          return entry
        },
        { timeout: 5000, interval: 50 },
      )
      // QuerySendDetails lists no BizId: the send is matched by its OutId.
      expect(delivered).toMatchObject({ provider: 'aliyun', vendor_code: 'DELIVERED', to: masked(payload.phone) })
      const queries = (await callsFor(payload.phone.slice(2))).filter((c) => c.action === 'QuerySendDetails')
      expect(queries).toHaveLength(1)
      expect(queries[0]).toMatchObject({ signatureValid: true, params: { PhoneNumber: payload.phone.slice(2) } })
      const metrics = await scrape(server)
      expect(sample(metrics, 'sms_hook_receipts_total', { provider: 'aliyun', status: 'delivered' })).toBe(1)
    })

    if (!state.redis) return

    it('two replicas on one Redis: the send on A, the receipt on B, the lookup on A', async () => {
      const env = { ...aliyunEnv(), ...stateEnv() }
      const [a, b] = [await start(env), await start(env)]
      const sent = await sendThroughAliyun(a)
      const response = await pushAliyun(b, [
        aliyunReport({ phone_number: sent.phone.slice(2), biz_id: sent.bizId, out_id: sent.uuid }),
      ])
      expect(await response.text()).toBe('{"code":0,"msg":"接收成功"}')
      const entry = await entryOnce(a, sent.uuid, 'delivered')
      expect(entry).toMatchObject({ vendor_code: 'DELIVERED', vendor_message_id: sent.bizId })
      expect(await deliveriesTo(a, sent.phone)).toEqual([entry])
      // The receipt is counted where it arrived.
      expect(sample(await scrape(b), 'sms_hook_receipts_total', { provider: 'aliyun', status: 'delivered' })).toBe(1)
      expect(sample(await scrape(a), 'sms_hook_receipts_total', { provider: 'aliyun', status: 'delivered' })).toBe(0)
    })

    it('two replicas on one Redis: a resend on B goes through the other provider first', async () => {
      const env = { ...vendorEnv(), SMS_HOOK_ROUTES: '*=aliyun,tencent', ...stateEnv() }
      const [a, b] = [await start(env), await start(env)]
      const phone = uniqueMainlandPhone()
      const first = signupPayload({ phone })
      await hook(a, first)
      expect(await callsFor(first.uuid)).toHaveLength(1)
      await entryOnce(a, first.uuid, 'accepted')

      const second = signupPayload({ phone })
      await hook(b, second)
      expect(await callsFor(second.uuid)).toEqual([])
      const tencent = await vendorCalls('tencent', phone)
      expect(tencent.map((c) => c.params.SessionContext)).toEqual([second.uuid])
      expect(await entryOnce(a, second.uuid, 'accepted')).toMatchObject({ provider: 'tencent' })
      expect((await deliveriesTo(b, phone)).map((e) => [e.reference, e.provider])).toEqual([
        [second.uuid, 'tencent'],
        [first.uuid, 'aliyun'],
      ])
      const rotated = b.logs.filter((l) => l.msg === 'resend: trying another provider first')
      expect(rotated).toHaveLength(1)
      expect(rotated[0]).toMatchObject({ previous_provider: 'aliyun', provider: 'tencent', key: second.uuid })
      expect(JSON.stringify(rotated[0])).not.toContain(phone)
      expect(sample(await scrape(b), 'sms_hook_resend_rotations_total', { from: 'aliyun', to: 'tencent' })).toBe(1)
      expect(a.logs.filter((l) => l.msg === 'resend: trying another provider first')).toEqual([])
    })

    it('keeps no number and no code in clear anywhere in Redis, the guard counting by the hash', async () => {
      const prefix = `e2e-${crypto.randomUUID()}:`
      const env = { ...vendorEnv(), SMS_HOOK_ROUTES: '*=aliyun,tencent', ...stateEnv(prefix) }
      const server = await start(env)
      const phone = uniqueMainlandPhone()
      const sends = [await sendThroughAliyun(server, phone)]
      const resend = signupPayload({ phone })
      await hook(server, resend)
      const tencentSend = await entryOnce(server, resend.uuid, 'accepted')
      expect(tencentSend.provider).toBe('tencent')
      // The vendors' reports carry the number in clear: none of it may stay.
      await pushAliyun(server, [
        aliyunReport({ phone_number: phone.slice(2), biz_id: sends[0]!.bizId, out_id: sends[0]!.uuid }),
      ])
      await pushTencent(server, [
        {
          user_receive_time: chinaText(Date.now()),
          nationcode: '86',
          mobile: phone.slice(2),
          report_status: 'SUCCESS',
          errmsg: 'DELIVRD',
          description: '用户短信送达成功',
          sid: tencentSend.vendor_message_id,
          ext: resend.uuid,
        },
      ])
      await entryOnce(server, sends[0]!.uuid, 'delivered')
      await entryOnce(server, resend.uuid, 'delivered')

      const client = new Redis(redis!.url, { lazyConnect: true, maxRetriesPerRequest: 1 })
      try {
        await client.connect()
        const keys: string[] = []
        let cursor = '0'
        do {
          const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
          keys.push(...batch)
          cursor = next
        } while (cursor !== '0')
        expect(keys.length).toBeGreaterThan(0)
        const dump: string[] = []
        for (const key of keys) {
          const type = await client.type(key)
          dump.push(key)
          if (type === 'string') dump.push((await client.get(key)) ?? '')
          else if (type === 'zset') dump.push(...(await client.zrange(key, '0', '-1', 'WITHSCORES')))
          else if (type === 'hash') dump.push(...Object.entries(await client.hgetall(key)).flat())
          else if (type === 'set') dump.push(...(await client.smembers(key)))
          else if (type === 'list') dump.push(...(await client.lrange(key, 0, -1)))
          else throw new Error(`a key of an unexpected type: ${key} (${type})`)
        }
        const text = dump.join('\n')
        for (const otp of [sends[0]!.otp, resend.otp]) expect(text).not.toContain(otp)
        expect(text).not.toContain(phone.slice(2))
        expect(text).not.toContain(phone)
        // The delivery records and the guard's counter of the number, under its keyed hash.
        const hash = numberHash(phone, ADMIN_TOKEN)
        expect(keys).toContain(`${prefix}dlv:num:{${hash}}`)
        expect(keys.filter((key) => key.startsWith(`${prefix}rate:{number:${hash}}:`))).not.toEqual([])
        expect(keys.filter((key) => key.startsWith(`${prefix}rate:{number:`) && !key.includes(hash))).toEqual([])
      } finally {
        client.disconnect()
      }
    })
  })
}
