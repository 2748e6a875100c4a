import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { makeApp, ScriptedProvider } from '../support/app.js'
import { fixtures } from '../support/payloads.js'
import { gotrueHeaders, OTHER_SECRET, SECRET } from '../support/sign.js'

const provider = new ScriptedProvider()
const { app } = makeApp({ provider, env: { LOG_LEVEL: 'error' } })

/** Header values as an attacker or a broken proxy might send them. */
const headerValue = fc.oneof(
  fc.string(),
  fc.stringMatching(/^v[0-9],[A-Za-z0-9+/=]{0,60}( v1,[A-Za-z0-9+/=]{0,50})?$/),
  fc.integer({ min: -1e12, max: 1e12 }).map(String),
)

/** Bodies: arbitrary text and JSON, and GoTrue fixtures with one field changed. */
const body = fc.oneof(
  fc.string({ maxLength: 2000 }),
  fc.json({ maxDepth: 4 }),
  fc
    .tuple(fc.constantFrom(...Object.values(fixtures)), fc.nat(), fc.string({ maxLength: 8 }))
    .map(([raw, at, insert]) => raw.slice(0, at % raw.length) + insert + raw.slice(at % raw.length)),
)

const expectNoServerError = (response: Response) => {
  expect(response.status).toBeLessThan(500)
  expect(response.headers.get('content-type')).toMatch(/^application\/json/)
}

describe('hostile input never causes a 5xx, a crash or a delivery', () => {
  it('random headers and bodies', async () => {
    await fc.assert(
      fc.asyncProperty(
        body,
        fc.record(
          { 'webhook-id': headerValue, 'webhook-timestamp': headerValue, 'webhook-signature': headerValue },
          { requiredKeys: [] },
        ),
        async (payload, headers) => {
          const response = await app.request('/send-sms', { method: 'POST', headers, body: payload })
          expectNoServerError(response)
          expect(response.status).toBe(401)
        },
      ),
      { numRuns: 300 },
    )
    expect(provider.calls).toHaveLength(0)
  })

  it('bodies validly signed by a secret we do not hold, or signed for another body', async () => {
    await fc.assert(
      fc.asyncProperty(body, body, async (payload, other) => {
        for (const headers of [
          gotrueHeaders(payload, { secrets: [OTHER_SECRET] }),
          gotrueHeaders(other === payload ? `${other} ` : other),
        ]) {
          const response = await app.request('/send-sms', { method: 'POST', headers, body: payload })
          expectNoServerError(response)
          expect(response.status).toBe(401)
        }
      }),
      { numRuns: 200 },
    )
    expect(provider.calls).toHaveLength(0)
  })

  it('correctly signed garbage is refused as a bad payload, not a server error', async () => {
    const garbage = fc
      .oneof(fc.string({ maxLength: 2000 }), fc.json({ maxDepth: 4 }))
      .filter((s) => !s.includes('"otp"'))
    await fc.assert(
      fc.asyncProperty(garbage, async (payload) => {
        const response = await app.request('/send-sms', {
          method: 'POST',
          headers: gotrueHeaders(payload, { secrets: [SECRET] }),
          body: payload,
        })
        expectNoServerError(response)
        const json = (await response.json()) as { error?: { http_code: number } }
        expect(json.error?.http_code).toBe(400)
      }),
      { numRuns: 300 },
    )
    expect(provider.calls).toHaveLength(0)
  })
})
