/**
 * The one reading of a call that got no answer, against real sockets that fail in each way (see
 * test/fakes/network-faults.ts). Node names the failure, so a refused connection, an unknown host or a
 * certificate nobody trusts are known not to have sent anything; workerd reports them all as a lost
 * connection or an internal error, so there they may have sent.
 */
import { describe, expect, inject, it } from 'vitest'
import { ProviderError } from '../../src/errors.js'
import { callVendor, kindOfAnswer, noAnswer, retryAfterMs } from '../../src/providers/http.js'
import { boundFetch, expectNothingFromRequest, failure, onWorkerd, smsMessage } from './support.js'

const faults = inject('networkFaults')

/** A request that carries the number and the OTP everywhere it can, even in its URL. */
const call = (base: string, budgetMs = 3000) => {
  const message = smsMessage()
  const url = `${base}/send?to=${message.to.e164}&text=${message.otp}`
  const body = new URLSearchParams({ to: message.to.e164, text: message.text }).toString()
  const signal = AbortSignal.timeout(budgetMs)
  const headers = { 'content-type': 'application/x-www-form-urlencoded' }
  return { message, sent: callVendor(boundFetch, { vendor: 'Acme', url, headers, body, signal }, message) }
}

describe('a call that gets no answer', () => {
  const notSentOnNode = onWorkerd ? 'outcome_unknown' : 'retryable'
  const cases: [string, string, ProviderError['kind']][] = [
    ['a refused connection', faults.refused, notSentOnNode],
    ['a host name that does not resolve', 'http://sms-hook-test.invalid', notSentOnNode],
    ['a certificate nobody trusts', faults.selfSignedTls, notSentOnNode],
    ['a reset as the connection opens', faults.resetOnConnect, 'outcome_unknown'],
    ['a reset after the request was read', faults.resetAfterRequest, 'outcome_unknown'],
    ['an answer cut in the middle of its body', faults.cutAnswer, 'outcome_unknown'],
  ]
  for (const [what, url, kind] of cases) {
    it(`reads ${what} as ${kind}, and keeps the request out of the message`, async () => {
      const { message, sent } = call(url)
      const error = await failure(sent)
      expect(error.kind).toBe(kind)
      expect(error.message).toMatch(/Acme/)
      expectNothingFromRequest(error.message, message)
    })
  }

  it('reads the hook deadline passing on a server that never answers as outcome_unknown', async () => {
    const { message, sent } = call(faults.hang, 300)
    const error = await failure(sent)
    expect(error.kind).toBe('outcome_unknown')
    expect(error.message).toMatch(/may have been sent/)
    expectNothingFromRequest(error.message, message)
  })
})

describe('noAnswer', () => {
  const message = smsMessage()
  const fetchFailed = (cause: unknown) => Object.assign(new TypeError('fetch failed'), { cause })
  const systemError = (code: string, text = code) => Object.assign(new Error(text), { code })

  it.each([
    'ECONNREFUSED',
    'ENOTFOUND',
    'EAI_AGAIN',
    'ENETUNREACH',
    'EHOSTUNREACH',
    'UND_ERR_CONNECT_TIMEOUT',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'SELF_SIGNED_CERT_IN_CHAIN',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'CERT_HAS_EXPIRED',
    'ERR_TLS_CERT_ALTNAME_INVALID',
    'ERR_SSL_WRONG_VERSION_NUMBER',
  ])('reads %s, before the request left, as retryable', (code) => {
    const error = noAnswer('Acme', fetchFailed(systemError(code)), message)
    expect(error.kind).toBe('retryable')
    expect(error.message).toBe(`could not connect to Acme (${code})`)
  })

  it.each(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])(
    'reads %s, which may follow a request the vendor read, as outcome_unknown',
    (code) => {
      expect(noAnswer('Acme', fetchFailed(systemError(code)), message).kind).toBe('outcome_unknown')
    },
  )

  it('reads an AggregateError (one attempt per address) as retryable only when every attempt was refused', () => {
    const refusedTwice = new AggregateError([systemError('ECONNREFUSED'), systemError('ECONNREFUSED')])
    expect(noAnswer('Acme', fetchFailed(refusedTwice), message).kind).toBe('retryable')
    const oneReset = new AggregateError([systemError('ECONNREFUSED'), systemError('ECONNRESET')])
    expect(noAnswer('Acme', fetchFailed(oneReset), message).kind).toBe('outcome_unknown')
  })

  it('reads an abort, a bare error and a non-error as outcome_unknown', () => {
    for (const error of [new DOMException('aborted', 'AbortError'), new Error('Network connection lost.'), 'boom']) {
      expect(noAnswer('Acme', error, message).kind).toBe('outcome_unknown')
    }
  })

  it('scrubs the number, the OTP and URLs out of the causes it quotes', () => {
    const cause = systemError('ECONNRESET', `read ECONNRESET +${message.to.e164} ${message.otp} https://h/p?x=1`)
    const error = noAnswer('Acme', fetchFailed(cause), message)
    expect(error.message).toMatch(
      /^no answer from Acme, the SMS may have been sent \(TypeError: fetch failed: read ECONNRESET/,
    )
    expectNothingFromRequest(error.message, message)
    expect(error.cause).toBeInstanceOf(TypeError)
  })
})

describe('kindOfAnswer', () => {
  const proxy = { vendorJson: false }
  it.each([
    [200, 'outcome_unknown'],
    [201, 'outcome_unknown'],
    [502, 'outcome_unknown'],
    [504, 'outcome_unknown'],
    [500, 'outcome_unknown'],
    [429, 'retryable'],
    [400, 'configuration'],
    [403, 'configuration'],
    [404, 'configuration'],
    [302, 'configuration'],
  ] as const)("reads HTTP %i without the vendor's JSON (a proxy's page) as %s", (status, kind) => {
    expect(kindOfAnswer(status, proxy)).toEqual({ kind })
  })

  it("reads a 5xx with the vendor's JSON as retryable, whatever its code says", () => {
    expect(kindOfAnswer(503, { vendorJson: true, code: '20503' })).toEqual({ kind: 'retryable' })
    expect(kindOfAnswer(500, { vendorJson: true, code: 'X', known: 'recipient_invalid' })).toEqual({
      kind: 'retryable',
    })
  })

  it("lets the vendor's table decide below 500", () => {
    expect(kindOfAnswer(401, { vendorJson: true, code: '20003', known: 'configuration' })).toEqual({
      kind: 'configuration',
    })
    expect(kindOfAnswer(200, { vendorJson: true, code: '6', known: 'recipient_invalid' })).toEqual({
      kind: 'recipient_invalid',
    })
  })

  it('reads a code the table does not know as an unrecognised destination refusal, never as configuration', () => {
    for (const status of [200, 400, 401, 403, 404, 422]) {
      expect(kindOfAnswer(status, { vendorJson: true, code: 'NEW' })).toEqual({
        kind: 'recipient_invalid',
        unrecognised: true,
      })
    }
    expect(kindOfAnswer(400, { vendorJson: true })).toEqual({ kind: 'recipient_invalid', unrecognised: true })
  })

  it("reads 429 with the vendor's JSON and an unknown code as our account throttled: retryable", () => {
    expect(kindOfAnswer(429, { vendorJson: true, code: 'NEW' })).toEqual({ kind: 'retryable' })
  })

  it("reads a 2xx with the vendor's JSON and no code as a success without its id: outcome_unknown", () => {
    expect(kindOfAnswer(200, { vendorJson: true })).toEqual({ kind: 'outcome_unknown' })
  })
})

describe('retryAfterMs', () => {
  const now = Date.UTC(2026, 0, 1, 0, 0, 0)
  it('reads seconds and HTTP dates', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': '3' }), now)).toBe(3000)
    expect(retryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:02 GMT' }), now)).toBe(2000)
    expect(retryAfterMs(new Headers({ 'retry-after': 'Wed, 31 Dec 2025 23:59:00 GMT' }), now)).toBe(0)
  })

  it('ignores an absent or unreadable value', () => {
    expect(retryAfterMs(new Headers(), now)).toBeUndefined()
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined()
    expect(retryAfterMs(new Headers({ 'retry-after': '-1' }), now)).toBeUndefined()
  })
})
