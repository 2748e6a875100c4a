import { createHash, createHmac } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { VonageSignatureMethod } from '../../src/delivery/config.js'
import type { ReceiptVendor } from '../../src/receipts/types.js'
import { VONAGE_TIMESTAMP_TOLERANCE_MS, vonageReceipts } from '../../src/receipts/vonage.js'
import { configWith, FORM, PUBLIC_URL, receiptRequest, TOKEN } from './request-support.js'

const URL_BASE = `${PUBLIC_URL}/receipts/vonage/${TOKEN}`
const NOW = Date.UTC(2026, 4, 1, 12, 0, 0)
const SECRET = 'vonage-signature-secret-0123456789'

/** A delivery receipt as Vonage sends it. */
const receipt = (params: Record<string, string> = {}): Record<string, string> => ({
  msisdn: '447700900123',
  to: 'AcmeApp',
  'network-code': '23410',
  messageId: '0A0000001234567B',
  price: '0.03330000',
  status: 'delivered',
  scts: '2605011158',
  'err-code': '0',
  'api-key': 'a1b2c3d4',
  'client-ref': '6f1c2a9e-8d41-4c1b-9a53-2f0c7e4b8d10',
  'message-timestamp': '2026-05-01 11:59:00',
  ...params,
})

/** Vonage's signature, from its "signing messages" guide, computed here with node:crypto. */
const sign = (params: Record<string, string>, method: VonageSignatureMethod, secret = SECRET) => {
  const base = Object.keys(params)
    .filter((name) => name !== 'sig')
    .sort()
    .map((name) => `&${name}=${params[name]!.replace(/[&=]/g, '_')}`)
    .join('')
  if (method === 'md5hash')
    return createHash('md5')
      .update(base + secret)
      .digest('hex')
  return createHmac(method, secret).update(base).digest('hex').toUpperCase()
}

const signedReceipt = (method: VonageSignatureMethod, params: Record<string, string> = {}, at = NOW) => {
  const unsigned = receipt({ timestamp: String(Math.floor(at / 1000)), nonce: crypto.randomUUID(), ...params })
  return { ...unsigned, sig: sign(unsigned, method) }
}

const get = (params: Record<string, string>) =>
  receiptRequest({ method: 'GET', url: `${URL_BASE}?${new URLSearchParams(params)}` })
const postForm = (params: Record<string, string>) =>
  receiptRequest({ url: URL_BASE, headers: FORM, body: new URLSearchParams(params).toString() })
const postJson = (params: Record<string, string>) =>
  receiptRequest({ url: URL_BASE, headers: { 'content-type': 'application/json' }, body: JSON.stringify(params) })

const vendor = (env = {}): ReceiptVendor => vonageReceipts(configWith(env))!

describe('Vonage receipts: when they are served', () => {
  it('with the public URL, the token and the vonage provider: GET and POST at the token path, unsigned', () => {
    const v = vendor()
    expect(v).toMatchObject({ provider: 'vonage', auth: 'token', methods: ['GET', 'POST'] })
    expect(v.verify).toBeUndefined()
  })

  it('not without the public URL or the token, with receipts off, or without the vonage provider', () => {
    expect(vonageReceipts(configWith({ SMS_HOOK_PUBLIC_URL: undefined }))).toBeUndefined()
    expect(vonageReceipts(configWith({ SMS_HOOK_RECEIPTS_TOKEN: undefined }))).toBeUndefined()
    expect(vonageReceipts(configWith({ SMS_HOOK_RECEIPTS: 'off' }))).toBeUndefined()
    expect(vonageReceipts(configWith({ SMS_HOOK_ROUTES: '1=twilio' }))).toBeUndefined()
  })

  it('answers 204', () => {
    expect(vendor().answer().status).toBe(204)
  })
})

describe('Vonage receipts: reading them', () => {
  const expected = {
    provider: 'vonage',
    reference: '6f1c2a9e-8d41-4c1b-9a53-2f0c7e4b8d10',
    vendorMessageId: '0A0000001234567B',
    status: 'delivered',
    vendorCode: '0',
    at: Date.UTC(2026, 4, 1, 11, 58),
  }

  it('reads the same receipt from a GET query, a POST form and a POST JSON body', () => {
    for (const request of [get(receipt()), postForm(receipt()), postJson(receipt())]) {
      expect(vendor().parse(request, NOW)).toEqual({ updates: [expected], malformed: 0 })
    }
  })

  it('maps every status, and moves nothing on unknown without counting it malformed', () => {
    const statuses: Record<string, string> = {
      accepted: 'accepted',
      buffered: 'sent',
      delivered: 'delivered',
      expired: 'expired',
      failed: 'failed',
      rejected: 'failed',
    }
    for (const [word, status] of Object.entries(statuses)) {
      expect(vendor().parse(get(receipt({ status: word, 'err-code': '1' })), NOW)!.updates, word).toEqual([
        { ...expected, status, vendorCode: '1' },
      ])
    }
    expect(vendor().parse(get(receipt({ status: 'unknown' })), NOW)).toEqual({ updates: [], malformed: 0 })
  })

  it('takes the arrival as the time without a valid scts, and matches by messageId without client-ref', () => {
    const { 'client-ref': _, ...anonymous } = receipt({ scts: '2613011200' })
    const [update] = vendor().parse(get(anonymous), NOW)!.updates
    expect(update).toEqual({
      provider: 'vonage',
      vendorMessageId: '0A0000001234567B',
      status: 'delivered',
      vendorCode: '0',
      at: NOW,
    })
  })

  it('counts a receipt without messageId, or with a status Vonage does not send, as malformed', () => {
    const { messageId: _, ...noId } = receipt()
    expect(vendor().parse(get(noId), NOW)).toEqual({ updates: [], malformed: 1 })
    expect(vendor().parse(get(receipt({ status: 'DELIVRD' })), NOW)).toEqual({ updates: [], malformed: 1 })
    expect(vendor().parse(get(receipt({ status: 'toString' })), NOW)).toEqual({ updates: [], malformed: 1 })
  })

  it('reads nothing from a POST body that is neither a form nor a JSON object', () => {
    const text = receiptRequest({ url: URL_BASE, headers: { 'content-type': 'text/plain' }, body: 'delivered' })
    expect(vendor().parse(text, NOW)).toBeUndefined()
    expect(vendor().parse(postJson([] as unknown as Record<string, string>), NOW)).toBeUndefined()
  })
})

describe('Vonage receipts: signed webhooks', () => {
  const METHODS: VonageSignatureMethod[] = ['md5hash', 'md5', 'sha1', 'sha256', 'sha512']
  const signedVendor = (method: VonageSignatureMethod) =>
    vendor({ SMS_HOOK_VONAGE_SIGNATURE_SECRET: SECRET, SMS_HOOK_VONAGE_SIGNATURE_METHOD: method })

  for (const method of METHODS) {
    it(`accepts ${method} receipts signed as Vonage documents it, by GET, form and JSON`, async () => {
      const v = signedVendor(method)
      const params = signedReceipt(method)
      for (const request of [get(params), postForm(params), postJson(params)]) {
        expect(await v.verify!(request, NOW)).toBe(true)
      }
    })

    it(`refuses ${method} receipts changed, signed with another secret or method, or unsigned`, async () => {
      const v = signedVendor(method)
      const params = signedReceipt(method)
      expect(await v.verify!(get({ ...params, status: 'failed' }), NOW)).toBe(false)
      expect(await v.verify!(get({ ...params, sig: sign(params, method, 'another-secret') }), NOW)).toBe(false)
      const other = method === 'sha256' ? 'sha512' : 'sha256'
      expect(await v.verify!(get({ ...params, sig: sign(params, other) }), NOW)).toBe(false)
      const { sig: _, ...unsigned } = params
      expect(await v.verify!(get(unsigned), NOW)).toBe(false)
    })
  }

  it('replaces & and = in values as Vonage does, on random values', async () => {
    const v = signedVendor('sha256')
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 30 }), fc.string({ maxLength: 30 }), async (ref, text) => {
        expect(await v.verify!(postForm(signedReceipt('sha256', { 'client-ref': ref, 'x-extra': text })), NOW)).toBe(
          true,
        )
      }),
      { numRuns: 100 },
    )
  })

  it('refuses a receipt signed too long ago or too far ahead, or without its timestamp', async () => {
    const v = signedVendor('md5hash')
    expect(await v.verify!(get(signedReceipt('md5hash', {}, NOW - VONAGE_TIMESTAMP_TOLERANCE_MS + 2000)), NOW)).toBe(
      true,
    )
    expect(await v.verify!(get(signedReceipt('md5hash', {}, NOW - VONAGE_TIMESTAMP_TOLERANCE_MS - 2000)), NOW)).toBe(
      false,
    )
    expect(await v.verify!(get(signedReceipt('md5hash', {}, NOW + VONAGE_TIMESTAMP_TOLERANCE_MS + 2000)), NOW)).toBe(
      false,
    )
    const { timestamp: _, ...rest } = receipt({ nonce: 'n' })
    expect(await v.verify!(get({ ...rest, sig: sign(rest, 'md5hash') }), NOW)).toBe(false)
  })

  it('accepts the signature in either case', async () => {
    const v = signedVendor('sha1')
    const params = signedReceipt('sha1')
    expect(await v.verify!(get({ ...params, sig: params.sig.toLowerCase() }), NOW)).toBe(true)
  })
})
