import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseSecrets } from '../../src/hook/config.js'
import { createSignatureVerifier, standardWebhooksSigner } from '../../src/hook/verify.js'
import { nodeSigner } from '../../src/node/signer.js'

// The official Standard Webhooks known-answer vectors (from the spec and its reference libraries).
const vectors = [
  {
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    timestamp: 1614265330,
    payload: '{"test": 2432232314}',
    signature: 'g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
  },
  {
    secret: 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD',
    id: 'msg_27UH4WbU6Z5A5EzD8u03UvzRbpk',
    timestamp: 1649367553,
    payload: '{"email":"test@example.com","username":"test_user"}',
    signature: 'tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=',
  },
]

describe("Node's native signer", () => {
  for (const v of vectors) {
    it(`signs vector ${v.id} as the reference does`, () => {
      const [key] = parseSecrets(v.secret)
      expect(nodeSigner(key!)(v.id, v.timestamp, v.payload)).toBe(v.signature)
    })
  }

  it('verifies the vectors through the verifier the Node entry builds', () => {
    for (const v of vectors) {
      const verify = createSignatureVerifier(parseSecrets(v.secret), { now: () => v.timestamp * 1000 }, nodeSigner)
      const headers = new Headers({
        'webhook-id': v.id,
        'webhook-timestamp': String(v.timestamp),
        'webhook-signature': `v1,${v.signature}`,
      })
      expect(verify(headers, new TextEncoder().encode(v.payload))).toBe(v.payload)
    }
  })

  it('agrees with the standardwebhooks library on random keys, ids, timestamps and Unicode bodies', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 24, maxLength: 64 }),
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 2 ** 35 }),
        fc.string({ unit: 'grapheme', maxLength: 2000 }),
        (key, id, timestamp, body) => {
          expect(nodeSigner(key)(id, timestamp, body)).toBe(standardWebhooksSigner(key)(id, timestamp, body))
        },
      ),
      { numRuns: 300 },
    )
  })
})
