import { createHash, createHmac, randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { MESSAGEBIRD_LEEWAY_SECONDS, messagebirdReceipts } from '../../src/receipts/messagebird.js'
import type { ReceiptVendor } from '../../src/receipts/types.js'
import { configWith, PUBLIC_URL, receiptRequest, TOKEN } from './request-support.js'

const NOW = Date.UTC(2026, 4, 1, 12, 0, 0)
const SECONDS = NOW / 1000
const KEY = 'messagebird-signing-key-0123456789abcdef'

const report = (params: Record<string, string> = {}) =>
  new URLSearchParams({
    id: 'e8077d803532c0b5937c639b60216938',
    reference: '6f1c2a9e-8d41-4c1b-9a53-2f0c7e4b8d10',
    recipient: '31612345678',
    status: 'delivered',
    statusDatetime: '2026-05-01T11:58:30+00:00',
    ...params,
  })

const urlOf = (params = report()) => `${PUBLIC_URL}/receipts/messagebird/${TOKEN}?${params}`

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url')
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

/** A MessageBird-Signature-JWT, built here with node:crypto as MessageBird's guide describes it. */
const jwt = (
  claims: Record<string, unknown>,
  { key = KEY, alg = 'HS256', hash = 'sha256' }: { key?: string; alg?: string; hash?: string } = {},
) => {
  const head = b64url(JSON.stringify({ alg, typ: 'JWT' }))
  const body = b64url(JSON.stringify(claims))
  return `${head}.${body}.${b64url(createHmac(hash, key).update(`${head}.${body}`).digest())}`
}

const claimsFor = (url: string, extra: Record<string, unknown> = {}) => ({
  iss: 'MessageBird',
  nbf: SECONDS - 1,
  exp: SECONDS + 60,
  jti: randomUUID(),
  url_hash: sha256(url),
  ...extra,
})

const signedGet = (token: string | undefined, url = urlOf(), body = '') =>
  receiptRequest({
    method: 'GET',
    url,
    body,
    headers: token === undefined ? {} : { 'MessageBird-Signature-JWT': token },
  })

const vendor = (env = {}): ReceiptVendor => messagebirdReceipts(configWith(env))!
const signedVendor = () => vendor({ SMS_HOOK_MESSAGEBIRD_SIGNING_KEY: KEY })

describe('MessageBird receipts: when they are served', () => {
  it('with the public URL, the token and the messagebird provider: GETs at the token path, unsigned', () => {
    const v = vendor()
    expect(v).toMatchObject({ provider: 'messagebird', auth: 'token', methods: ['GET'] })
    expect(v.verify).toBeUndefined()
  })

  it('not without the public URL or the token, with receipts off, or without the messagebird provider', () => {
    expect(messagebirdReceipts(configWith({ SMS_HOOK_PUBLIC_URL: undefined }))).toBeUndefined()
    expect(messagebirdReceipts(configWith({ SMS_HOOK_RECEIPTS_TOKEN: undefined }))).toBeUndefined()
    expect(messagebirdReceipts(configWith({ SMS_HOOK_RECEIPTS: 'off' }))).toBeUndefined()
    expect(messagebirdReceipts(configWith({ SMS_HOOK_ROUTES: '1=twilio' }))).toBeUndefined()
  })

  it('answers 200', () => {
    expect(vendor().answer().status).toBe(200)
  })
})

describe('MessageBird receipts: reading them', () => {
  const read = (params: URLSearchParams) => vendor().parse(signedGet(undefined, urlOf(params)), NOW)

  it('maps every status, with statusDatetime as the time', () => {
    const statuses: Record<string, string> = {
      scheduled: 'accepted',
      sent: 'sent',
      buffered: 'sent',
      delivered: 'delivered',
      expired: 'expired',
      delivery_failed: 'failed',
    }
    for (const [word, status] of Object.entries(statuses)) {
      expect(read(report({ status: word })), word).toEqual({
        updates: [
          {
            provider: 'messagebird',
            reference: '6f1c2a9e-8d41-4c1b-9a53-2f0c7e4b8d10',
            vendorMessageId: 'e8077d803532c0b5937c639b60216938',
            status,
            vendorCode: word,
            at: Date.UTC(2026, 4, 1, 11, 58, 30),
          },
        ],
        malformed: 0,
      })
    }
  })

  it('keeps statusErrorCode as the vendor code, and reads an offset in statusDatetime', () => {
    const [update] = read(
      report({ status: 'delivery_failed', statusErrorCode: '104', statusDatetime: '2026-05-01T13:58:30+02:00' }),
    )!.updates
    expect(update).toMatchObject({ status: 'failed', vendorCode: '104', at: Date.UTC(2026, 4, 1, 11, 58, 30) })
  })

  it('takes the arrival as the time when statusDatetime is not RFC 3339', () => {
    for (const value of ['', '2026-05-01', '2026-13-01T00:00:00Z', 'yesterday', '2026-05-01T11:58:30']) {
      expect(read(report({ statusDatetime: value }))!.updates[0]!.at, value).toBe(NOW)
    }
  })

  it('counts a report without id, or with a status MessageBird does not send, as malformed', () => {
    expect(read(report({ id: '' }))).toEqual({ updates: [], malformed: 1 })
    expect(read(report({ status: 'DELIVERED' }))).toEqual({ updates: [], malformed: 1 })
    expect(read(report({ status: 'hasOwnProperty' }))).toEqual({ updates: [], malformed: 1 })
  })
})

describe('MessageBird receipts: MessageBird-Signature-JWT', () => {
  it('accepts the JWT MessageBird signs over the full URL', async () => {
    const url = urlOf()
    expect(await signedVendor().verify!(signedGet(jwt(claimsFor(url)), url), NOW)).toBe(true)
  })

  it('accepts a body with its payload_hash, and refuses one without or with another', async () => {
    const url = urlOf()
    const v = signedVendor()
    const body = '{"unexpected":true}'
    expect(await v.verify!(signedGet(jwt(claimsFor(url, { payload_hash: sha256(body) })), url, body), NOW)).toBe(true)
    expect(await v.verify!(signedGet(jwt(claimsFor(url)), url, body), NOW)).toBe(false)
    expect(await v.verify!(signedGet(jwt(claimsFor(url, { payload_hash: sha256('other') })), url, body), NOW)).toBe(
      false,
    )
  })

  it('refuses another URL: a changed status, reference or token path', async () => {
    const url = urlOf()
    const token = jwt(claimsFor(url))
    const v = signedVendor()
    for (const other of [
      urlOf(report({ status: 'delivery_failed' })),
      urlOf(report({ reference: 'another-send' })),
      url.replace(TOKEN, 'another-token-0123456789'),
    ]) {
      expect(await v.verify!(signedGet(token, other), NOW)).toBe(false)
    }
  })

  it('refuses another key, another issuer, no jti, no url_hash, and a JWT that is not HMAC-signed', async () => {
    const url = urlOf()
    const v = signedVendor()
    const { jti: _, ...noJti } = claimsFor(url)
    const { url_hash: __, ...noUrlHash } = claimsFor(url)
    const head = b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))
    for (const token of [
      jwt(claimsFor(url), { key: 'another-signing-key' }),
      jwt(claimsFor(url, { iss: 'Someone' })),
      jwt(noJti),
      jwt(noUrlHash),
      `${head}.${b64url(JSON.stringify(claimsFor(url)))}.`,
      'not-a-jwt',
    ]) {
      expect(await v.verify!(signedGet(token, url), NOW), token).toBe(false)
    }
    expect(await v.verify!(signedGet(undefined, url), NOW)).toBe(false)
  })

  it('accepts HS512 as MessageBird’s verifier does', async () => {
    const url = urlOf()
    const token = jwt(claimsFor(url), { alg: 'HS512', hash: 'sha512' })
    expect(await signedVendor().verify!(signedGet(token, url), NOW)).toBe(true)
  })

  it('checks nbf and exp against now, with a few seconds of leeway', async () => {
    const url = urlOf()
    const v = signedVendor()
    const at = async (extra: Record<string, unknown>) => v.verify!(signedGet(jwt(claimsFor(url, extra)), url), NOW)
    expect(await at({ exp: SECONDS - 1 })).toBe(true)
    expect(await at({ exp: SECONDS - MESSAGEBIRD_LEEWAY_SECONDS - 1 })).toBe(false)
    expect(await at({ nbf: SECONDS + 2 })).toBe(true)
    expect(await at({ nbf: SECONDS + MESSAGEBIRD_LEEWAY_SECONDS + 1 })).toBe(false)
    expect(await at({ exp: undefined })).toBe(false)
  })
})
