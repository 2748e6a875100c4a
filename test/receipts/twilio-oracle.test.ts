/**
 * Our Twilio signature check against the official `twilio` package's own validator, the oracle: for random
 * callbacks both accept Twilio's signature, both refuse a tampered one, and Twilio's expected signature is the
 * one computed here from its documentation with node:crypto. Node only: the package needs Node's http stack.
 */
import { createHmac } from 'node:crypto'
import fc from 'fast-check'
import twilio from 'twilio'
import { describe, expect, it } from 'vitest'
import { verifyTwilioSignature } from '../../src/receipts/twilio.js'

const independent = (token: string, url: string, params: Record<string, string>) =>
  createHmac('sha1', token)
    .update(
      Object.keys(params)
        .sort()
        .reduce((data, name) => data + name + params[name], url),
    )
    .digest('base64')

const ours = (token: string, signature: string, url: string, params: Record<string, string>) =>
  verifyTwilioSignature(token, signature, url, new URLSearchParams(params))

/** A callback as Twilio posts it: parameter names of letters and digits, values of any text. */
const callbacks = fc.record({
  token: fc.string({ minLength: 1, maxLength: 40 }),
  host: fc.constantFrom('hook.example.com', 'sms.example.org', 'localhost'),
  port: fc.constantFrom('', ':443', ':8443'),
  ref: fc.oneof(fc.uuid(), fc.stringMatching(/^[0-9a-f]{64}$/), fc.string({ maxLength: 20 })),
  params: fc.dictionary(fc.stringMatching(/^[A-Z][A-Za-z0-9]{0,15}$/), fc.string({ maxLength: 40 }), {
    minKeys: 1,
    maxKeys: 12,
  }),
})

const urlOf = ({ host, port, ref }: { host: string; port: string; ref: string }) =>
  `https://${host}${port}/receipts/twilio?ref=${encodeURIComponent(ref)}`

describe('Twilio signature against the official twilio package', () => {
  it("computes getExpectedTwilioSignature's signature, independently, and both validators accept it", async () => {
    await fc.assert(
      fc.asyncProperty(callbacks, async (c) => {
        const url = urlOf(c)
        const signature = twilio.getExpectedTwilioSignature(c.token, url, c.params)
        expect(signature).toBe(independent(c.token, url, c.params))
        expect(twilio.validateRequest(c.token, signature, url, c.params)).toBe(true)
        expect(await ours(c.token, signature, url, c.params)).toBe(true)
      }),
      { numRuns: 300 },
    )
  })

  it('agrees with validateRequest on a signature of the URL with the default port added or removed', async () => {
    await fc.assert(
      fc.asyncProperty(callbacks, fc.boolean(), async (c, addPort) => {
        const url = urlOf(c)
        const signedUrl = addPort ? urlOf({ ...c, port: c.port === '' ? ':443' : c.port }) : urlOf({ ...c, port: '' })
        const signature = independent(c.token, signedUrl, c.params)
        expect(await ours(c.token, signature, url, c.params)).toBe(
          twilio.validateRequest(c.token, signature, url, c.params),
        )
      }),
      { numRuns: 300 },
    )
  })

  it('refuses, as validateRequest does, a changed value, another URL, another token or a changed signature', async () => {
    await fc.assert(
      fc.asyncProperty(callbacks, fc.string({ minLength: 1, maxLength: 8 }), async (c, extra) => {
        const url = urlOf(c)
        const signature = independent(c.token, url, c.params)
        const [name] = Object.keys(c.params) as [string]
        const changed = { ...c.params, [name]: c.params[name] + extra }
        const otherUrl = urlOf({ ...c, ref: c.ref + extra })
        const otherToken = c.token + extra
        const otherSignature = independent(c.token, url, { ...c.params, Extra: extra })
        for (const [token, sig, u, params] of [
          [c.token, signature, url, changed],
          [c.token, signature, otherUrl, c.params],
          [otherToken, signature, url, c.params],
          [c.token, otherSignature, url, c.params],
        ] as const) {
          expect(twilio.validateRequest(token, sig, u, params)).toBe(false)
          expect(await ours(token, sig, u, params)).toBe(false)
        }
      }),
      { numRuns: 200 },
    )
  })
})
