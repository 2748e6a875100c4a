import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { twilioReceipts } from '../../src/receipts/twilio.js'
import type { ReceiptVendor } from '../../src/receipts/types.js'
import { FAKE_TWILIO } from '../fakes/vendor-accounts.js'
import { configWith, FORM, PUBLIC_URL, receiptRequest } from './request-support.js'

const REF = '6f1c2a9e-8d41-4c1b-9a53-2f0c7e4b8d10'
const URL_AS_SENT = `${PUBLIC_URL}/receipts/twilio?ref=${REF}`
const NOW = Date.UTC(2026, 4, 1, 12, 0, 0)

/** Twilio's signature, computed here from its documentation with node:crypto. */
const sign = (token: string, url: string, params: Record<string, string>) =>
  createHmac('sha1', token)
    .update(
      Object.keys(params)
        .sort()
        .reduce((data, name) => data + name + params[name], url),
    )
    .digest('base64')

const callback = (params: Record<string, string>): Record<string, string> => ({
  AccountSid: FAKE_TWILIO.accountSid,
  From: FAKE_TWILIO.from,
  To: '+447700900123',
  ApiVersion: '2010-04-01',
  SmsSid: 'SM0123456789abcdef0123456789abcdef',
  MessageSid: 'SM0123456789abcdef0123456789abcdef',
  ...params,
})

interface SignedOptions {
  url?: string
  signedUrl?: string
  token?: string
}

const signed = (
  params: Record<string, string>,
  { url = URL_AS_SENT, signedUrl = url, token = FAKE_TWILIO.authToken as string }: SignedOptions = {},
) =>
  receiptRequest({
    url,
    headers: { ...FORM, 'x-twilio-signature': sign(token, signedUrl, params) },
    body: new URLSearchParams(params).toString(),
  })

const vendor = (): ReceiptVendor => twilioReceipts(configWith())!

describe('Twilio receipts: when they are served', () => {
  it('with the twilio provider and SMS_HOOK_PUBLIC_URL: signature-checked POSTs at /receipts/twilio', () => {
    expect(vendor()).toMatchObject({ provider: 'twilio', auth: 'signature', methods: ['POST'] })
  })

  it('not without SMS_HOOK_PUBLIC_URL, with receipts off, or without the twilio provider', () => {
    expect(twilioReceipts(configWith({ SMS_HOOK_PUBLIC_URL: undefined }))).toBeUndefined()
    expect(twilioReceipts(configWith({ SMS_HOOK_RECEIPTS: 'off' }))).toBeUndefined()
    expect(twilioReceipts(configWith({ SMS_HOOK_ROUTES: '44=vonage' }))).toBeUndefined()
  })

  it('answers an empty 204', async () => {
    const answer = vendor().answer()
    expect(answer.status).toBe(204)
    expect(await answer.text()).toBe('')
  })
})

describe('Twilio receipts: the signature', () => {
  const params = callback({ MessageStatus: 'delivered', RawDlrDoneDate: '2605011159' })

  it('accepts the signature Twilio computes over the URL as sent and the sorted form', async () => {
    expect(await vendor().verify!(signed(params), NOW)).toBe(true)
  })

  it('refuses a changed parameter, an added one, a removed one, another URL, another token, no header', async () => {
    const v = vendor()
    const good = signed(params)
    const headers = Object.fromEntries(good.headers)
    expect(
      await v.verify!(
        receiptRequest({
          url: URL_AS_SENT,
          headers,
          body: new URLSearchParams({ ...params, MessageStatus: 'failed' }).toString(),
        }),
        NOW,
      ),
    ).toBe(false)
    expect(
      await v.verify!(
        receiptRequest({
          url: URL_AS_SENT,
          headers,
          body: new URLSearchParams({ ...params, ErrorCode: '30008' }).toString(),
        }),
        NOW,
      ),
    ).toBe(false)
    const { RawDlrDoneDate: _, ...fewer } = params
    expect(
      await v.verify!(receiptRequest({ url: URL_AS_SENT, headers, body: new URLSearchParams(fewer).toString() }), NOW),
    ).toBe(false)
    // Another reference in the URL: a receipt replayed against another send.
    expect(
      await v.verify!(
        receiptRequest({ url: `${PUBLIC_URL}/receipts/twilio?ref=other`, headers, body: good.body }),
        NOW,
      ),
    ).toBe(false)
    expect(await v.verify!(signed(params, { token: 'another-auth-token' }), NOW)).toBe(false)
    const { 'x-twilio-signature': __, ...unsigned } = headers
    expect(await v.verify!(receiptRequest({ url: URL_AS_SENT, headers: unsigned, body: good.body }), NOW)).toBe(false)
  })

  it('accepts the URL signed with the default port added, or removed, as Twilio’s validator does', async () => {
    const v = vendor()
    const withPort = `https://hook.example.com:443/receipts/twilio?ref=${REF}`
    expect(await v.verify!(signed(params, { url: URL_AS_SENT, signedUrl: withPort }), NOW)).toBe(true)
    expect(await v.verify!(signed(params, { url: withPort, signedUrl: URL_AS_SENT }), NOW)).toBe(true)
    // Another port is another URL.
    const otherPort = `https://hook.example.com:8443/receipts/twilio?ref=${REF}`
    expect(await v.verify!(signed(params, { url: URL_AS_SENT, signedUrl: otherPort }), NOW)).toBe(false)
  })

  it('refuses a request that is not a form POST', async () => {
    const good = signed(params)
    const json = receiptRequest({
      url: URL_AS_SENT,
      headers: { 'content-type': 'application/json', 'x-twilio-signature': good.headers.get('x-twilio-signature')! },
      body: JSON.stringify(params),
    })
    expect(await vendor().verify!(json, NOW)).toBe(false)
  })
})

describe('Twilio receipts: reading them', () => {
  const read = (params: Record<string, string>, url = URL_AS_SENT) =>
    vendor().parse(receiptRequest({ url, headers: FORM, body: new URLSearchParams(callback(params)).toString() }), NOW)

  it('maps every MessageStatus', () => {
    const expected: Record<string, string> = {
      queued: 'accepted',
      accepted: 'accepted',
      scheduled: 'accepted',
      sending: 'sent',
      sent: 'sent',
      delivered: 'delivered',
      read: 'delivered',
      undelivered: 'failed',
      failed: 'failed',
      canceled: 'failed',
    }
    for (const [word, status] of Object.entries(expected)) {
      expect(read({ MessageStatus: word })!.updates, word).toEqual([
        {
          provider: 'twilio',
          reference: REF,
          vendorMessageId: 'SM0123456789abcdef0123456789abcdef',
          status,
          vendorCode: word,
          at: NOW,
        },
      ])
    }
  })

  it('keeps ErrorCode as the vendor code, and RawDlrDoneDate (UTC) as the time', () => {
    expect(read({ MessageStatus: 'undelivered', ErrorCode: '30008', RawDlrDoneDate: '2605011147' })).toEqual({
      updates: [expect.objectContaining({ status: 'failed', vendorCode: '30008', at: Date.UTC(2026, 4, 1, 11, 47) })],
      malformed: 0,
    })
  })

  it('takes the arrival as the time when RawDlrDoneDate is absent or not a time', () => {
    for (const raw of ['', '26050111', '2602301200', '2605012460', 'abcdefghij']) {
      expect(read({ MessageStatus: 'delivered', RawDlrDoneDate: raw })!.updates[0]!.at, raw).toBe(NOW)
    }
  })

  it('reads a callback without ?ref= by its MessageSid alone', () => {
    const update = read({ MessageStatus: 'delivered' }, `${PUBLIC_URL}/receipts/twilio`)!.updates[0]!
    expect(update.reference).toBeUndefined()
    expect(update.vendorMessageId).toBe('SM0123456789abcdef0123456789abcdef')
  })

  it('counts a callback without MessageSid, or with a status Twilio does not document, as malformed', () => {
    expect(read({ MessageStatus: 'delivered', MessageSid: '' })).toEqual({ updates: [], malformed: 1 })
    expect(read({ MessageStatus: 'constructor' })).toEqual({ updates: [], malformed: 1 })
    expect(read({ MessageStatus: 'DELIVERED' })).toEqual({ updates: [], malformed: 1 })
  })

  it('reads nothing from a body that is not a form', () => {
    expect(
      vendor().parse(
        receiptRequest({ url: URL_AS_SENT, body: '{}', headers: { 'content-type': 'application/json' } }),
        NOW,
      ),
    ).toBeUndefined()
  })
})
