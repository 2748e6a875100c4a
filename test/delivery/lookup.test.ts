import { describe, expect, it } from 'vitest'
import type { Env } from '../../src/config/index.js'
import { createNumberKey, numberKeyMaterial } from '../../src/delivery/number-key.js'
import type { DeliveryRecord, DeliveryStore } from '../../src/delivery/types.js'
import { maskPhone } from '../../src/log.js'
import { manualClock } from '../support/clock.js'
import { makeApp } from '../support/app.js'

const ADMIN_TOKEN = 'lookup-admin-token-0123456789'
const CN = '8613800138000'
const OTHER = '8613900139000'
const HOUR = 3_600_000
const T0 = Date.parse('2025-03-01T08:00:00.000Z')

const bearer = (token = ADMIN_TOKEN) => ({ headers: { authorization: `Bearer ${token}` } })

/** The real app with the lookup on, a memory store on a manual clock, and a way to seed sends as the handler records them. */
const lookupApp = (env: Env = {}) => {
  const clock = manualClock(T0)
  const made = makeApp({ env: { SMS_HOOK_ADMIN_TOKEN: ADMIN_TOKEN, ...env }, clock })
  const deliveries = made.deliveries!
  // The key createApp derives when none is given: the records must be found by the hash the handler writes.
  const numberKey = createNumberKey(numberKeyMaterial(made.config.delivery.adminToken, made.config.hook.secrets))
  const seed = async (e164: string, fields: Partial<DeliveryRecord> & { reference: string }) => {
    const record: DeliveryRecord = {
      provider: 'aliyun',
      status: 'accepted',
      sentAt: clock.now(),
      statusAt: clock.now(),
      to: maskPhone(e164),
      number: await numberKey(e164),
      country: e164.slice(0, 2),
      ...fields,
    }
    await deliveries.record(record, made.config.delivery.ttlMs)
    return record
  }
  return { ...made, clock, deliveries, numberKey, seed }
}

const listOf = async (response: Response) =>
  ((await response.json()) as { deliveries: Record<string, unknown>[] }).deliveries

describe('GET /deliveries: who may ask', () => {
  it.each([
    ['no Authorization header', undefined],
    ['a wrong token', `Bearer ${ADMIN_TOKEN}x`],
    ['another scheme with the right token', `Basic ${ADMIN_TOKEN}`],
    ['the token alone, without the scheme', ADMIN_TOKEN],
    ['an empty bearer token', 'Bearer '],
  ])('refuses %s with 401, WWW-Authenticate: Bearer and the error shape', async (_, authorization) => {
    const { app, seed } = lookupApp()
    await seed(CN, { reference: 'ref-1' })
    const headers: Record<string, string> = authorization === undefined ? {} : { authorization }
    for (const path of [`/deliveries?to=${CN}`, '/deliveries/ref-1', '/deliveries']) {
      const response = await app.request(path, { headers })
      expect(response.status).toBe(401)
      expect(response.headers.get('www-authenticate')).toBe('Bearer')
      expect(response.headers.get('cache-control')).toBe('no-store')
      expect(await response.json()).toEqual({
        error: { http_code: 401, message: 'The delivery lookup needs Authorization: Bearer <SMS_HOOK_ADMIN_TOKEN>' },
      })
    }
  })

  it('answers the right token', async () => {
    const { app, seed } = lookupApp()
    await seed(CN, { reference: 'ref-1' })
    const response = await app.request(`/deliveries?to=${CN}`, bearer())
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(response.headers.get('content-type')).toMatch(/^application\/json/)
    expect((await listOf(response)).map((d) => d.reference)).toEqual(['ref-1'])
  })

  it('a 401 before the method is looked at: POST without the token learns nothing more', async () => {
    const { app } = lookupApp()
    expect((await app.request('/deliveries', { method: 'POST' })).status).toBe(401)
  })
})

describe('GET /deliveries: without the setting the routes do not exist', () => {
  const notFound = { error: { http_code: 404, message: 'Not found' } }

  it('no SMS_HOOK_ADMIN_TOKEN: 404 for both routes, with or without a token', async () => {
    const { app, deliveries, config } = makeApp()
    expect(config.delivery.adminToken).toBeUndefined()
    expect(deliveries).toBeDefined()
    for (const path of [`/deliveries?to=${CN}`, '/deliveries/ref-1', '/deliveries']) {
      for (const init of [{}, bearer()]) {
        const response = await app.request(path, init)
        expect(response.status).toBe(404)
        expect(response.headers.get('www-authenticate')).toBeNull()
        expect(await response.json()).toEqual(notFound)
      }
    }
  })

  it('SMS_HOOK_RECEIPTS=off (no delivery records): 404 even with the admin token', async () => {
    const { app, deliveries } = makeApp({ env: { SMS_HOOK_ADMIN_TOKEN: ADMIN_TOKEN, SMS_HOOK_RECEIPTS: 'off' } })
    expect(deliveries).toBeUndefined()
    for (const path of [`/deliveries?to=${CN}`, '/deliveries/ref-1']) {
      const response = await app.request(path, bearer())
      expect(response.status).toBe(404)
      expect(await response.json()).toEqual(notFound)
    }
  })
})

describe('GET /deliveries?to=<number>', () => {
  it('answers the sends to that number only, newest first, each entry exactly its fields', async () => {
    const { app, clock, seed } = lookupApp()
    await seed(CN, { reference: 'first', vendorMessageId: 'biz-1' })
    clock.advance(HOUR)
    await seed(OTHER, { reference: 'someone-else' })
    clock.advance(HOUR)
    await seed(CN, {
      reference: 'second',
      provider: 'twilio',
      status: 'failed',
      vendorMessageId: 'SM0123',
      vendorCode: '30008',
      statusAt: clock.now() + 40_000,
    })
    const response = await app.request(`/deliveries?to=${CN}`, bearer())
    expect(response.status).toBe(200)
    expect(await listOf(response)).toStrictEqual([
      {
        reference: 'second',
        provider: 'twilio',
        status: 'failed',
        vendor_message_id: 'SM0123',
        vendor_code: '30008',
        sent_at: '2025-03-01T10:00:00.000Z',
        status_at: '2025-03-01T10:00:40.000Z',
        to: '86138****8000',
      },
      {
        reference: 'first',
        provider: 'aliyun',
        status: 'accepted',
        vendor_message_id: 'biz-1',
        vendor_code: null,
        sent_at: '2025-03-01T08:00:00.000Z',
        status_at: '2025-03-01T08:00:00.000Z',
        to: '86138****8000',
      },
    ])
  })

  it('newest first by the time of the send, whatever order they were recorded in', async () => {
    const { app, seed } = lookupApp()
    await seed(CN, { reference: 'middle', sentAt: T0 - 2 * HOUR })
    await seed(CN, { reference: 'newest', sentAt: T0 - HOUR })
    await seed(CN, { reference: 'oldest', sentAt: T0 - 3 * HOUR })
    const entries = await listOf(await app.request(`/deliveries?to=${CN}`, bearer()))
    expect(entries.map((d) => d.reference)).toEqual(['newest', 'middle', 'oldest'])
  })

  it.each([
    ['without +, as GoTrue sends it', CN],
    ['with an encoded +', `%2B${CN}`],
    ['with a bare + (form encoding reads it as a space)', `+${CN}`],
  ])('finds the number written %s', async (_, to) => {
    const { app, seed } = lookupApp()
    await seed(CN, { reference: 'ref-1' })
    const entries = await listOf(await app.request(`/deliveries?to=${to}`, bearer()))
    expect(entries.map((d) => d.reference)).toEqual(['ref-1'])
  })

  it('reads a bare mainland mobile as +86 where the hook handler does (SMS_HOOK_NATIONAL_NUMBERS=86)', async () => {
    const { app, config, seed } = lookupApp({ SMS_HOOK_NATIONAL_NUMBERS: '86' })
    expect(config.message.nationalNumbers).toBe('86')
    await seed(CN, { reference: 'ref-1' })
    expect((await listOf(await app.request('/deliveries?to=13800138000', bearer()))).map((d) => d.reference)).toEqual([
      'ref-1',
    ])
    // A `+` says E.164: +1 380..., another number.
    expect(await listOf(await app.request('/deliveries?to=%2B13800138000', bearer()))).toEqual([])
  })

  it('keeps a bare 11-digit number E.164 where the hook handler does (SMS_HOOK_NATIONAL_NUMBERS=none)', async () => {
    const { app, seed } = lookupApp({ SMS_HOOK_NATIONAL_NUMBERS: 'none' })
    await seed(CN, { reference: 'mainland' })
    await seed('13800138000', { reference: 'north-america' })
    const entries = await listOf(await app.request('/deliveries?to=13800138000', bearer()))
    expect(entries.map((d) => d.reference)).toEqual(['north-america'])
  })

  it('answers an empty list for a number with no send kept', async () => {
    const { app, seed } = lookupApp()
    await seed(CN, { reference: 'ref-1' })
    const response = await app.request(`/deliveries?to=${OTHER}`, bearer())
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ deliveries: [] })
  })

  it('forgets a send past SMS_HOOK_RECEIPT_TTL', async () => {
    const { app, clock, seed } = lookupApp({ SMS_HOOK_RECEIPT_TTL: '1h' })
    await seed(CN, { reference: 'ref-1' })
    clock.advance(HOUR + 1)
    expect(await listOf(await app.request(`/deliveries?to=${CN}`, bearer()))).toEqual([])
    expect((await app.request('/deliveries/ref-1', bearer())).status).toBe(404)
  })

  it('refuses a missing `to` with 400 saying what to give', async () => {
    const { app } = lookupApp()
    for (const path of ['/deliveries', '/deliveries?to=', '/deliveries?phone=8613800138000']) {
      const response = await app.request(path, bearer())
      expect(response.status).toBe(400)
      expect(response.headers.get('cache-control')).toBe('no-store')
      expect(await response.json()).toEqual({
        error: {
          http_code: 400,
          message: 'Give the number as ?to=<number> (E.164 digits, with or without +), or ask /deliveries/<reference>',
        },
      })
    }
  })

  it.each(['abc', '12345', '0086138001380000', '86 138 0013 8000', '86138001380001234', '%2B%2B8613800138000'])(
    'refuses to=%s with 400: not a number GoTrue sends',
    async (to) => {
      const { app } = lookupApp()
      const response = await app.request(`/deliveries?to=${encodeURIComponent(decodeURIComponent(to))}`, bearer())
      expect(response.status).toBe(400)
      expect(((await response.json()) as { error: { message: string } }).error.message).toBe(
        'to must be a phone number as GoTrue sends it: E.164 digits such as 8613800138000, with or without +',
      )
    },
  )

  it('shows the masked number only: never the number in clear, nor its hash', async () => {
    const { app, seed, numberKey } = lookupApp()
    await seed(CN, { reference: 'ref-1', vendorMessageId: 'biz-1' })
    const text = await (await app.request(`/deliveries?to=${CN}`, bearer())).text()
    const byReference = await (await app.request('/deliveries/ref-1', bearer())).text()
    for (const body of [text, byReference]) {
      expect(body).toContain('86138****8000')
      expect(body).not.toContain(CN)
      expect(body).not.toContain('13800138000')
      expect(body).not.toContain(await numberKey(CN))
      expect(body).not.toContain('"number"')
      expect(body).not.toContain('"country"')
    }
  })

  it('answers at most MAX_PER_NUMBER (50) sends', async () => {
    const { app, clock, seed } = lookupApp()
    for (let i = 0; i < 55; i++) {
      clock.advance(1000)
      await seed(CN, { reference: `ref-${i}` })
    }
    const entries = await listOf(await app.request(`/deliveries?to=${CN}`, bearer()))
    expect(entries).toHaveLength(50)
    expect(entries[0]!.reference).toBe('ref-54')
  })
})

describe('GET /deliveries/<reference>', () => {
  it('answers the entry itself', async () => {
    const { app, seed } = lookupApp()
    await seed(CN, {
      reference: '3f1c9a52-9d5e-4f0b-8a57-2b9a6b9e0c11',
      provider: 'tencent',
      status: 'delivered',
      vendorMessageId: '2433:0123456789',
      vendorCode: 'DELIVRD',
      statusAt: T0 + 5000,
      deliveredAt: T0 + 4000,
    })
    const response = await app.request('/deliveries/3f1c9a52-9d5e-4f0b-8a57-2b9a6b9e0c11', bearer())
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(await response.json()).toStrictEqual({
      reference: '3f1c9a52-9d5e-4f0b-8a57-2b9a6b9e0c11',
      provider: 'tencent',
      status: 'delivered',
      vendor_message_id: '2433:0123456789',
      vendor_code: 'DELIVRD',
      sent_at: '2025-03-01T08:00:00.000Z',
      status_at: '2025-03-01T08:00:05.000Z',
      to: '86138****8000',
    })
  })

  it('shows an unknown outcome with null vendor fields', async () => {
    const { app, seed } = lookupApp()
    await seed(CN, { reference: 'ref-u', status: 'unknown', reconcileAt: T0 + 45_000 })
    expect(await (await app.request('/deliveries/ref-u', bearer())).json()).toStrictEqual({
      reference: 'ref-u',
      provider: 'aliyun',
      status: 'unknown',
      vendor_message_id: null,
      vendor_code: null,
      sent_at: '2025-03-01T08:00:00.000Z',
      status_at: '2025-03-01T08:00:00.000Z',
      to: '86138****8000',
    })
  })

  it('answers 404 in the error shape for a reference no send has', async () => {
    const { app, seed } = lookupApp()
    await seed(CN, { reference: 'ref-1' })
    const response = await app.request('/deliveries/ref-2', bearer())
    expect(response.status).toBe(404)
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(await response.json()).toEqual({
      error: {
        http_code: 404,
        message: 'No send with that reference is kept (unknown, or older than SMS_HOOK_RECEIPT_TTL)',
      },
    })
  })

  it('answers 404 for a reference longer than 128 characters without asking the store', async () => {
    const { app, seed } = lookupApp()
    const long = 'a'.repeat(129)
    await seed(CN, { reference: long })
    expect((await app.request(`/deliveries/${long}`, bearer())).status).toBe(404)
    await seed(CN, { reference: 'a'.repeat(128) })
    expect((await app.request(`/deliveries/${'a'.repeat(128)}`, bearer())).status).toBe(200)
  })

  it('reads a percent-encoded reference', async () => {
    const { app, seed } = lookupApp()
    await seed(CN, { reference: 'ref with space' })
    expect((await app.request('/deliveries/ref%20with%20space', bearer())).status).toBe(200)
  })
})

describe('GET /deliveries: methods', () => {
  it.each(['POST', 'PUT', 'DELETE', 'PATCH'])('%s is 405 with Allow: GET, HEAD', async (method) => {
    const { app, seed } = lookupApp()
    await seed(CN, { reference: 'ref-1' })
    for (const path of [`/deliveries?to=${CN}`, '/deliveries/ref-1']) {
      const response = await app.request(path, { method, ...bearer() })
      expect(response.status).toBe(405)
      expect(response.headers.get('allow')).toBe('GET, HEAD')
      expect(await response.json()).toEqual({ error: { http_code: 405, message: 'Method not allowed' } })
    }
    // Nothing was changed by it.
    expect((await app.request('/deliveries/ref-1', bearer())).status).toBe(200)
  })

  it('HEAD answers as GET does, without a body', async () => {
    const { app, seed } = lookupApp()
    await seed(CN, { reference: 'ref-1' })
    const response = await app.request('/deliveries/ref-1', { method: 'HEAD', ...bearer() })
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('')
    expect((await app.request('/deliveries/ref-1', { method: 'HEAD' })).status).toBe(401)
  })
})

describe('GET /deliveries: the number key', () => {
  it('finds records hashed with the key given to the app', async () => {
    const clock = manualClock(T0)
    const numberKey = createNumberKey('another deployment key')
    const { app, deliveries } = makeApp({ env: { SMS_HOOK_ADMIN_TOKEN: ADMIN_TOKEN }, clock, numberKey })
    const store: DeliveryStore = deliveries!
    const record = (reference: string, number: string): DeliveryRecord => ({
      reference,
      provider: 'vonage',
      status: 'sent',
      sentAt: T0,
      statusAt: T0,
      to: maskPhone(CN),
      number,
      country: '86',
    })
    await store.record(record('keyed', await numberKey(CN)), HOUR)
    const defaultKey = createNumberKey(numberKeyMaterial(ADMIN_TOKEN, []))
    await store.record(record('default-keyed', await defaultKey(CN)), HOUR)
    const entries = await listOf(await app.request(`/deliveries?to=${CN}`, bearer()))
    expect(entries.map((d) => d.reference)).toEqual(['keyed'])
  })
})
