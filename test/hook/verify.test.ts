import { describe, expect, it } from 'vitest'
import { parseSecrets } from '../../src/hook/config.js'
import { isSignatureError } from '../../src/errors.js'
import { checkSignatureHeaders, createBodyVerifier, createSignatureVerifier } from '../../src/hook/verify.js'

const vectorA = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  payload: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
}
const vectorB = {
  secret: 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD',
  id: 'msg_27UH4WbU6Z5A5EzD8u03UvzRbpk',
  timestamp: 1649367553,
  payload: '{"email":"test@example.com","username":"test_user"}',
  signature: 'v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=',
}

const verifierAt = (secret: string, seconds: number, toleranceMs?: number) =>
  createSignatureVerifier(parseSecrets(secret), { now: () => seconds * 1000 }, undefined, toleranceMs)

const headers = (id: string, timestamp: string | number, signature: string) =>
  new Headers({ 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature })

const bytes = (s: string) => new TextEncoder().encode(s)

const failure = (fn: () => unknown) => {
  try {
    fn()
  } catch (error) {
    if (isSignatureError(error)) return error.reason
    throw error
  }
  return 'passed'
}

describe('Standard Webhooks known-answer vectors', () => {
  for (const [name, v] of Object.entries({ A: vectorA, B: vectorB })) {
    it(`accepts vector ${name} and returns the body unchanged`, () => {
      const verify = verifierAt(v.secret, v.timestamp)
      expect(verify(headers(v.id, v.timestamp, v.signature), bytes(v.payload))).toBe(v.payload)
    })
  }

  it('accepts the secret in GoTrue form (v1,whsec_...) as well as bare whsec_', () => {
    const verify = verifierAt(`v1,${vectorA.secret}`, vectorA.timestamp)
    expect(verify(headers(vectorA.id, vectorA.timestamp, vectorA.signature), bytes(vectorA.payload))).toBe(
      vectorA.payload,
    )
  })
})

describe('negative cases from the reference libraries', () => {
  const v = vectorA
  const verify = verifierAt(v.secret, v.timestamp)
  const check = (signature: string, timestamp: string | number = v.timestamp, payload = v.payload) =>
    failure(() => verify(headers(v.id, timestamp, signature), bytes(payload)))

  it('rejects a made-up signature', () => expect(check('v1,dawfeoifkpqwoekfpqoekf')).toBe('no_matching_signature'))
  it('rejects the valid signature with its last character changed', () =>
    expect(check('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=')).toBe('no_matching_signature'))
  it('rejects a valid signature cut to 8 characters', () =>
    expect(check(v.signature.slice(0, 8))).toBe('no_matching_signature'))
  it('rejects a bare "v1,"', () => expect(check('v1,')).toBe('no_matching_signature'))
  it('accepts the valid signature beside v1 and v2 decoys', () => {
    const decoy = 'Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc='
    expect(check(`v1,${decoy} v2,${decoy} ${v.signature}`)).toBe('passed')
    expect(check(`v1,${decoy}, v2,${decoy}, ${v.signature}`)).toBe('passed')
  })
  it('rejects the valid signature under version v2', () =>
    expect(check(v.signature.replace('v1,', 'v2,'))).toBe('no_matching_signature'))
  it('rejects the timestamp "hello"', () => expect(check(v.signature, 'hello')).toBe('invalid_timestamp'))
  it('rejects "1614265330abc", which parseInt would read as a number', () =>
    expect(check(v.signature, `${v.timestamp}abc`)).toBe('invalid_timestamp'))
  it('rejects a negative or fractional timestamp', () => {
    expect(check(v.signature, `-${v.timestamp}`)).toBe('invalid_timestamp')
    expect(check(v.signature, `${v.timestamp}.0`)).toBe('invalid_timestamp')
  })
  it('rejects a timestamp 5 minutes and 1 second in the past', () => {
    const late = verifierAt(v.secret, v.timestamp + 301)
    expect(failure(() => late(headers(v.id, v.timestamp, v.signature), bytes(v.payload)))).toBe('timestamp_too_old')
  })
  it('rejects a timestamp 5 minutes and 1 second in the future', () => {
    const early = verifierAt(v.secret, v.timestamp - 301)
    expect(failure(() => early(headers(v.id, v.timestamp, v.signature), bytes(v.payload)))).toBe('timestamp_too_new')
  })
  it('accepts a timestamp exactly 5 minutes away', () => {
    const late = verifierAt(v.secret, v.timestamp + 300)
    expect(failure(() => late(headers(v.id, v.timestamp, v.signature), bytes(v.payload)))).toBe('passed')
  })
  it('rejects a tampered payload', () =>
    expect(check(v.signature, v.timestamp, '{"test": 2432232315}')).toBe('no_matching_signature'))
  for (const missing of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
    it(`rejects a request without ${missing}`, () => {
      const h = headers(v.id, v.timestamp, v.signature)
      h.delete(missing)
      expect(failure(() => verify(h, bytes(v.payload)))).toBe('missing_headers')
    })
  }
  it('rejects a body that is not UTF-8 instead of guessing what was signed', () => {
    const body = new Uint8Array([0x7b, 0xff, 0x7d])
    expect(failure(() => verify(headers(v.id, v.timestamp, v.signature), body))).toBe('invalid_body_encoding')
  })
})

describe('several secrets (rotation)', () => {
  it('accepts a signature by any configured secret', () => {
    const both = createSignatureVerifier(parseSecrets(`v1,${vectorB.secret}|v1,${vectorA.secret}`), {
      now: () => vectorA.timestamp * 1000,
    })
    expect(both(headers(vectorA.id, vectorA.timestamp, vectorA.signature), bytes(vectorA.payload))).toBe(
      vectorA.payload,
    )
  })

  it('refuses to be built without a secret', () => {
    expect(() => createSignatureVerifier([], { now: () => 0 })).toThrow(/at least one secret/)
  })
})

describe('checkSignatureHeaders: the checks made before the body is read', () => {
  const v = vectorA
  const clock = { now: () => v.timestamp * 1000 }
  const reason = (h: Headers) => failure(() => checkSignatureHeaders(h, clock))

  it('returns what the HMAC step needs', () => {
    expect(checkSignatureHeaders(headers(v.id, v.timestamp, v.signature), clock)).toEqual({
      id: v.id,
      seconds: v.timestamp,
      signature: v.signature,
    })
  })
  it('refuses missing headers, a timestamp not all digits, and one out of the tolerance, without a body', () => {
    const h = headers(v.id, v.timestamp, v.signature)
    h.delete('webhook-signature')
    expect(reason(h)).toBe('missing_headers')
    expect(reason(headers(v.id, `${v.timestamp}abc`, v.signature))).toBe('invalid_timestamp')
    expect(reason(headers(v.id, v.timestamp - 301, v.signature))).toBe('timestamp_too_old')
    expect(reason(headers(v.id, v.timestamp + 301, v.signature))).toBe('timestamp_too_new')
  })
  it('leaves the signature itself to the body step', () => {
    const checked = checkSignatureHeaders(headers(v.id, v.timestamp, 'v1,not-it'), clock)
    expect(failure(() => createBodyVerifier(parseSecrets(v.secret))(checked, bytes(v.payload)))).toBe(
      'no_matching_signature',
    )
    expect(createBodyVerifier(parseSecrets(v.secret))({ ...checked, signature: v.signature }, bytes(v.payload))).toBe(
      v.payload,
    )
  })
})

describe('the tolerance (SMS_HOOK_SIGNATURE_TOLERANCE), on both sides of the clock', () => {
  const v = vectorA
  // The vector's signature is valid, so only the distance between its timestamp and the clock decides.
  const at = (offsetSeconds: number, toleranceMs?: number) => {
    const verify = verifierAt(v.secret, v.timestamp + offsetSeconds, toleranceMs)
    return failure(() => verify(headers(v.id, v.timestamp, v.signature), bytes(v.payload)))
  }

  for (const [label, toleranceMs] of [
    ['30 s', 30_000],
    ['5 min', 300_000],
  ] as const) {
    const seconds = toleranceMs / 1000
    it(`with ${label}: accepts ${seconds - 1} s and ${seconds} s either way, refuses ${seconds + 1} s`, () => {
      expect([at(seconds - 1, toleranceMs), at(seconds, toleranceMs), at(seconds + 1, toleranceMs)]).toEqual([
        'passed',
        'passed',
        'timestamp_too_old',
      ])
      expect([at(-(seconds - 1), toleranceMs), at(-seconds, toleranceMs), at(-(seconds + 1), toleranceMs)]).toEqual([
        'passed',
        'passed',
        'timestamp_too_new',
      ])
    })
  }

  it('is 5 minutes when not given, as the spec says', () => {
    expect([at(300), at(301), at(-300), at(-301)]).toEqual([
      'passed',
      'timestamp_too_old',
      'passed',
      'timestamp_too_new',
    ])
  })

  it("refuses with 30 s a correctly signed call 31 s old, which the library's own 5 minutes would take", () => {
    expect(at(31, 30_000)).toBe('timestamp_too_old')
    expect(at(31)).toBe('passed')
  })

  it('counts whole seconds: the edge holds through the last millisecond of its second', () => {
    const clock = { now: () => (v.timestamp + 30) * 1000 + 999 }
    expect(failure(() => checkSignatureHeaders(headers(v.id, v.timestamp, v.signature), clock, 30_000))).toBe('passed')
  })

  it('applies to the header checks run before the body is read, without an HMAC', () => {
    const clock = { now: () => v.timestamp * 1000 }
    const reason = (timestamp: number) =>
      failure(() => checkSignatureHeaders(headers(v.id, timestamp, 'v1,not-it'), clock, 30_000))
    expect([
      reason(v.timestamp - 30),
      reason(v.timestamp - 31),
      reason(v.timestamp + 30),
      reason(v.timestamp + 31),
    ]).toEqual(['passed', 'timestamp_too_old', 'passed', 'timestamp_too_new'])
  })
})
