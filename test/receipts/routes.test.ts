import { Hono } from 'hono/tiny'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/index.js'
import { MemoryDeliveryStore } from '../../src/delivery/memory.js'
import { errorBody } from '../../src/errors.js'
import type { HookEvent } from '../../src/hook/events.js'
import { receiptRoutes } from '../../src/receipts/routes.js'
import type { ReceiptRequest, ReceiptVendor } from '../../src/receipts/types.js'
import { aliyunEnv, uniqueMainlandPhone } from '../providers/aliyun/fake.js'
import { systemClock } from '../../src/clock.js'
import { smsReport } from '../fakes/aliyun-reports.js'
import { SECRET } from '../support/sign.js'
import { FaultyDeliveries, receiptApp, TOKEN } from './support.js'

const PATH = `/receipts/aliyun/${TOKEN}`
const ANSWER = '{"code":0,"msg":"接收成功"}'
const NOT_FOUND = errorBody(404, 'Not found')

const aliyunApp = (options: Parameters<typeof receiptApp>[0] = {}) =>
  receiptApp({ ...options, env: aliyunEnv(options.env) })

const delivered = (reference: string) => smsReport({ out_id: reference })

describe('the token guard of /receipts/<vendor>/<token>', () => {
  it('answers the app 404 to a wrong or missing token, and changes and reports nothing', async () => {
    const made = aliyunApp()
    const sent = await made.send(uniqueMainlandPhone())
    const before = made.events.length
    const wrong = [
      `/receipts/aliyun/${TOKEN.slice(0, -1)}x`, // same length, last character differs
      `/receipts/aliyun/${TOKEN}0`,
      `/receipts/aliyun/${TOKEN.toUpperCase()}`,
      '/receipts/aliyun/',
      '/receipts/aliyun',
      `/receipts/aliyun/${TOKEN}/extra`,
      `/receipts/other/${TOKEN}`,
    ]
    for (const path of wrong) {
      for (const method of ['POST', 'GET']) {
        const response = await made.app.request(path, {
          method,
          headers: { 'content-type': 'application/json' },
          ...(method === 'POST' ? { body: JSON.stringify([delivered(sent.reference)]) } : {}),
        })
        expect(response.status, `${method} ${path}`).toBe(404)
        expect(await response.json()).toEqual(NOT_FOUND)
      }
    }
    expect((await made.deliveries.get(sent.reference))?.status).toBe('accepted')
    expect(made.events.length).toBe(before)
    // The right token takes the same report.
    expect((await made.push(PATH, [delivered(sent.reference)])).status).toBe(200)
    expect((await made.deliveries.get(sent.reference))?.status).toBe('delivered')
  })

  it('serves no token path without SMS_HOOK_RECEIPTS_TOKEN, with receipts off, or without delivery records', async () => {
    const cases = [
      receiptApp({ env: aliyunEnv({ SMS_HOOK_RECEIPTS_TOKEN: undefined as unknown as string }) }),
      aliyunApp({ env: { SMS_HOOK_RECEIPTS: 'off' } }),
      aliyunApp({ deliveries: null }),
    ]
    for (const made of cases) {
      for (const path of [PATH, `/receipts/tencent/${TOKEN}`, '/receipts/aliyun/undefined']) {
        const response = await made.push(path, [delivered('some-reference')])
        expect(response.status).toBe(404)
        expect(await response.json()).toEqual(NOT_FOUND)
      }
      expect(made.receipts()).toEqual([])
    }
  })

  it('answers 405 to another method on the right token, changing nothing', async () => {
    const made = aliyunApp()
    for (const method of ['PUT', 'DELETE']) {
      const response = await made.app.request(PATH, { method })
      expect(response.status).toBe(405)
      expect(response.headers.get('allow')).toBe('POST')
      expect(await response.json()).toEqual(errorBody(405, 'Method not allowed'))
    }
    expect(made.receipts()).toEqual([])
  })

  it("answers the Alibaba Cloud console's GET check of the address with the acknowledgement, reading nothing", async () => {
    const made = aliyunApp()
    const response = await made.app.request(PATH, { method: 'GET' })
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('{"code":0,"msg":"接收成功"}')
    expect(made.receipts()).toEqual([])
    // Behind the token all the same.
    expect((await made.app.request(PATH.replace(/[^/]+$/, 'x'.repeat(20)), { method: 'GET' })).status).toBe(404)
  })
})

describe('receipt bodies', () => {
  it('refuses a body past the bound with 413, by its Content-Length and while streaming one without', async () => {
    const made = aliyunApp()
    const sent = await made.send(uniqueMainlandPhone())
    // Valid JSON, a report padded past Aliyun's 512 KiB bound.
    const big = JSON.stringify([{ ...delivered(sent.reference), err_msg: 'x'.repeat(512 * 1024) }])
    const declared = await made.push(PATH, big)
    expect(declared.status).toBe(413)
    expect(await declared.json()).toEqual(errorBody(413, 'Payload too large'))

    const bytes = new TextEncoder().encode(big)
    const chunked = await made.app.request(PATH, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < bytes.length; i += 64 * 1024) controller.enqueue(bytes.subarray(i, i + 64 * 1024))
          controller.close()
        },
      }),
      duplex: 'half',
    } as RequestInit)
    expect(chunked.status).toBe(413)
    expect((await made.deliveries.get(sent.reference))?.status).toBe('accepted')
    expect(made.receipts().map((e) => [e.status, e.reason])).toEqual([
      ['refused', 'body too large'],
      ['refused', 'body too large'],
    ])
  })

  it('refuses a body that is not UTF-8', async () => {
    const made = aliyunApp()
    const response = await made.app.request(PATH, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new Uint8Array([0x5b, 0xff, 0xfe, 0x5d]),
    })
    expect(response.status).toBe(400)
    expect(made.receipts()).toEqual([expect.objectContaining({ status: 'refused', reason: 'body is not UTF-8' })])
  })
})

describe('when the delivery records fail', () => {
  it('answers 503 so that the vendor pushes again, and the next push applies the batch', async () => {
    const store = new FaultyDeliveries(new MemoryDeliveryStore({ clock: systemClock }))
    const made = aliyunApp({ deliveries: store })
    const [a, b] = [await made.send(uniqueMainlandPhone()), await made.send(uniqueMainlandPhone())]
    store.failing = true
    const batch = [delivered(a.reference), delivered(b.reference)]
    const refused = await made.push(PATH, batch)
    expect(refused.status).toBe(503)
    expect(await refused.json()).toEqual(errorBody(503, 'Delivery records unavailable'))
    // Every report was tried, one error reported for the request.
    expect(store.applies).toBe(2)
    const errors = made.events.filter((e) => e.type === 'delivery_error')
    expect(errors).toEqual([expect.objectContaining({ type: 'delivery_error', phase: 'receipt' })])
    expect(made.logs.find((l) => l.msg === 'delivery records failed to apply a report')).toBeDefined()

    store.failing = false
    const retried = await made.push(PATH, batch)
    expect(retried.status).toBe(200)
    expect(await retried.text()).toBe(ANSWER)
    expect((await made.deliveries.get(a.reference))?.status).toBe('delivered')
    expect((await made.deliveries.get(b.reference))?.status).toBe('delivered')
  })

  it('answers a slow batch at once and applies it after the answer', async () => {
    const store = new FaultyDeliveries(new MemoryDeliveryStore({ clock: systemClock }))
    const made = aliyunApp({ deliveries: store })
    const sent = await made.send(uniqueMainlandPhone())
    store.delayMs = 800
    const started = Date.now()
    const response = await made.push(PATH, [delivered(sent.reference)])
    expect(response.status).toBe(200)
    expect(await response.text()).toBe(ANSWER)
    expect(Date.now() - started).toBeLessThan(700)
    expect((await store.inner.get(sent.reference))?.status).toBe('accepted')
    await expect.poll(async () => (await store.inner.get(sent.reference))?.status, { timeout: 3000 }).toBe('delivered')
    expect(made.receipts()).toEqual([expect.objectContaining({ status: 'delivered', changed: true })])
  })
})

/** A signed vendor as Twilio's module is: the test signs with the URL it gave the vendor. */
const signedVendor = (seen: ReceiptRequest[]): ReceiptVendor => ({
  provider: 'signed',
  auth: 'signature',
  methods: ['POST'],
  maxBodyBytes: 1024,
  verify: async (request) => {
    seen.push(request)
    return request.headers.get('x-signed-url') === request.url
  },
  parse: (request) => {
    const id = request.form?.get('MessageSid')
    if (id === undefined || id === null) return undefined
    return { updates: [{ provider: 'signed', vendorMessageId: id, status: 'delivered', at: 1 }], malformed: 0 }
  },
  answer: () => new Response(null, { status: 204 }),
})

const signedApp = (publicUrl: string | undefined, waitUntil?: (work: Promise<void>) => void) => {
  const config = parseConfig({
    GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET,
    NODE_ENV: 'test',
    ...(publicUrl ? { SMS_HOOK_PUBLIC_URL: publicUrl } : {}),
  })
  const events: HookEvent[] = []
  const seen: ReceiptRequest[] = []
  const deliveries = new FaultyDeliveries(new MemoryDeliveryStore({ clock: systemClock }))
  const app = new Hono()
  app.route(
    '/receipts',
    receiptRoutes({
      config: config.delivery,
      vendors: [signedVendor(seen)],
      deliveries,
      clock: systemClock,
      observe: (event) => events.push(event),
      ...(waitUntil ? { waitUntil: (_c, work) => waitUntil(work) } : {}),
      answerWithinMs: 50,
    }),
  )
  return { app, events, seen, deliveries, ttlMs: config.delivery.ttlMs }
}

const record = (reference: string, vendorMessageId: string) => ({
  reference,
  provider: 'signed',
  status: 'accepted' as const,
  vendorMessageId,
  sentAt: 0,
  statusAt: 0,
  to: '+86139****0000',
  number: 'hash',
  country: '86',
})

describe('signed vendors at /receipts/<vendor>', () => {
  it('gives the vendor the URL as configured and the form, and refuses a bad signature with 403', async () => {
    const { app, events, seen, deliveries, ttlMs } = signedApp('https://hook.example.com/base')
    await deliveries.record(record('ref-1', 'SM1'), ttlMs)
    const form = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' } }

    const forged = await app.request('http://10.0.0.7:8080/receipts/signed?ref=ref-1', {
      ...form,
      headers: { ...form.headers, 'x-signed-url': 'http://10.0.0.7:8080/receipts/signed?ref=ref-1' },
      body: 'MessageSid=SM1&MessageStatus=delivered',
    })
    expect(forged.status).toBe(403)
    expect(await forged.json()).toEqual(errorBody(403, 'Forbidden'))
    expect(seen[0]?.url).toBe('https://hook.example.com/base/receipts/signed?ref=ref-1')
    expect(seen[0]?.query.get('ref')).toBe('ref-1')
    expect(seen[0]?.form?.get('MessageStatus')).toBe('delivered')
    expect(events).toEqual([expect.objectContaining({ type: 'receipt', provider: 'signed', status: 'refused' })])
    expect((await deliveries.get('ref-1'))?.status).toBe('accepted')

    const signed = await app.request('http://10.0.0.7:8080/receipts/signed?ref=ref-1', {
      ...form,
      headers: { ...form.headers, 'x-signed-url': 'https://hook.example.com/base/receipts/signed?ref=ref-1' },
      body: 'MessageSid=SM1&MessageStatus=delivered',
    })
    expect(signed.status).toBe(204)
    expect((await deliveries.get('ref-1'))?.status).toBe('delivered')

    const get = await app.request('/receipts/signed', { method: 'GET' })
    expect(get.status).toBe(405)
    expect(get.headers.get('allow')).toBe('POST')
  })

  it('gives the request URL itself without SMS_HOOK_PUBLIC_URL', async () => {
    const { app, seen } = signedApp(undefined)
    await app.request('http://127.0.0.1:8080/receipts/signed?a=1&b=2', { method: 'POST', body: 'x' })
    expect(seen[0]?.url).toBe('http://127.0.0.1:8080/receipts/signed?a=1&b=2')
    expect(seen[0]?.form).toBeUndefined()
    expect(seen[0]?.body).toBe('x')
  })

  it('hands the work still going after the answer to waitUntil, and reports its failure there', async () => {
    const kept: Promise<void>[] = []
    const { app, events, deliveries, ttlMs } = signedApp(undefined, (work) => kept.push(work))
    await deliveries.record(record('ref-2', 'SM2'), ttlMs)
    deliveries.delayMs = 200
    deliveries.failing = true
    const response = await app.request('http://127.0.0.1/receipts/signed', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-signed-url': 'http://127.0.0.1/receipts/signed',
      },
      body: 'MessageSid=SM2',
    })
    expect(response.status).toBe(204)
    expect(kept).toHaveLength(1)
    expect(events.filter((e) => e.type === 'delivery_error')).toEqual([])
    await kept[0]
    expect(events.filter((e) => e.type === 'delivery_error')).toEqual([
      expect.objectContaining({ type: 'delivery_error', phase: 'receipt' }),
    ])
  })
})
