import { describe, expect, it } from 'vitest'
import { ProviderError, type ProviderErrorKind } from '../../src/errors.js'
import { makeApp, ScriptedProvider } from '../support/app.js'
import { fixtures, fresh, signupPayload } from '../support/payloads.js'
import { signedPost } from '../support/sign.js'

/** GoTrue with `metadata` (v2.187+) reads the error object from a 200; older GoTrue needs the status itself. */
const expectRefusal = async (response: Response, status: number, legacy: boolean, message?: string) => {
  expect(response.status).toBe(legacy ? status : 200)
  expect(response.headers.get('content-type')).toMatch(/^application\/json/)
  expect(response.headers.get('retry-after')).toBeNull()
  const json = (await response.json()) as { error: { http_code: number; message: string } }
  expect(json.error.http_code).toBe(status)
  expect(json.error.message.length).toBeGreaterThan(0)
  if (message) expect(json.error.message).toBe(message)
}

const failing = (kind: ProviderErrorKind) =>
  new ScriptedProvider(async () => {
    throw new ProviderError(kind, `scripted ${kind}`, { providerCode: 'X', requestId: 'req-1' })
  })

for (const legacy of [false, true]) {
  describe(`answers to GoTrue ${legacy ? 'without metadata (before v2.187)' : 'with metadata (v2.187+)'}`, () => {
    const payload = (options: { otp?: string; phone?: string } = {}) => signupPayload({ ...options, legacy })

    it('answers success as 200 {} with a JSON content type', async () => {
      const { app } = makeApp()
      const response = await app.request('/send-sms', signedPost(payload().body))
      expect(response.status).toBe(200)
      expect(response.headers.get('content-type')).toMatch(/^application\/json/)
      expect(await response.text()).toBe('{}')
    })

    it('refuses an OTP that is not 6 to 10 digits with 400', async () => {
      const provider = new ScriptedProvider()
      const { app } = makeApp({ provider })
      for (const otp of ['12345', '12345678901', '12a456', '']) {
        await expectRefusal(
          await app.request('/send-sms', signedPost(payload({ otp }).body)),
          400,
          legacy,
          'Invalid SMS hook payload',
        )
      }
      expect(provider.calls).toHaveLength(0)
    })

    it('accepts 6- and 10-digit OTPs', async () => {
      const provider = new ScriptedProvider()
      const { app } = makeApp({ provider })
      for (const otp of ['123456', '1234567890']) {
        expect((await app.request('/send-sms', signedPost(payload({ otp }).body))).status).toBe(200)
      }
      expect(provider.calls.map((c) => c.message.otp)).toEqual(['123456', '1234567890'])
    })

    it('refuses an invalid destination with 400 and sends nothing', async () => {
      const provider = new ScriptedProvider()
      const { app } = makeApp({ provider })
      for (const phone of ['12ab', '0086138001380', '1234567890123456', '123']) {
        await expectRefusal(
          await app.request('/send-sms', signedPost(payload({ phone }).body)),
          400,
          legacy,
          'Invalid phone number',
        )
      }
      expect(provider.calls).toHaveLength(0)
    })

    const providerCases: [ProviderErrorKind, number][] = [
      ['rate_limited', 429],
      ['recipient_invalid', 400],
      ['configuration', 500],
      ['retryable', 503],
    ]
    for (const [kind, status] of providerCases) {
      it(`answers a provider's ${kind} failure with ${status}`, async () => {
        const { app } = makeApp({ provider: failing(kind) })
        await expectRefusal(await app.request('/send-sms', signedPost(payload().body)), status, legacy)
      })
    }

    // GoTrue stores the OTP only on success: when the SMS may have gone, an error would make its code dead.
    it("answers a provider's outcome_unknown failure as success: the SMS may have gone, so GoTrue keeps the code", async () => {
      const provider = failing('outcome_unknown')
      const { app } = makeApp({ provider })
      const { body } = payload()
      for (let i = 0; i < 2; i++) {
        const response = await app.request('/send-sms', signedPost(body))
        expect([response.status, await response.json()]).toEqual([200, {}])
      }
    })

    it('answers an untyped provider failure as success too, and a retry never sends again', async () => {
      const provider = new ScriptedProvider(async () => {
        throw new TypeError('provider bug')
      })
      const { app } = makeApp({ provider })
      const { body } = payload()
      for (let i = 0; i < 2; i++) {
        const response = await app.request('/send-sms', signedPost(body))
        expect([response.status, await response.json()]).toEqual([200, {}])
      }
      expect(provider.calls).toHaveLength(1)
    })

    it('answers both with 504 under SMS_HOOK_UNKNOWN_OUTCOME=error', async () => {
      const env = { SMS_HOOK_UNKNOWN_OUTCOME: 'error' }
      await expectRefusal(
        await makeApp({ provider: failing('outcome_unknown'), env }).app.request(
          '/send-sms',
          signedPost(payload().body),
        ),
        504,
        legacy,
      )
      const untyped = new ScriptedProvider(async () => {
        throw new TypeError('provider bug')
      })
      await expectRefusal(
        await makeApp({ provider: untyped, env }).app.request('/send-sms', signedPost(payload().body)),
        504,
        legacy,
      )
    })
  })
}

describe('answers before the payload is read', () => {
  it('refuses a signed body that is not JSON with HTTP 400', async () => {
    const { app } = makeApp()
    await expectRefusal(await app.request('/send-sms', signedPost('not json')), 400, true)
  })

  it('refuses a body over 2 MiB with 413 before checking its signature', async () => {
    const provider = new ScriptedProvider()
    const { app } = makeApp({ provider })
    const body = JSON.stringify({ sms: { otp: '123456', phone: '8613800138000' }, pad: 'x'.repeat(2 * 1024 * 1024) })
    await expectRefusal(await app.request('/send-sms', signedPost(body)), 413, true)
    expect(provider.calls).toHaveLength(0)
  })

  it('counts a chunked body (no Content-Length) as it streams in, and refuses it past 2 MiB', async () => {
    const provider = new ScriptedProvider()
    const { app } = makeApp({ provider })
    const streamed = (text: string, headers: Record<string, string>): RequestInit =>
      ({
        method: 'POST',
        headers,
        body: new Blob([text]).stream(),
        duplex: 'half',
      }) as RequestInit
    const { body } = signupPayload()
    expect(
      (await app.request('/send-sms', streamed(body, signedPost(body).headers as Record<string, string>))).status,
    ).toBe(200)
    const huge = JSON.stringify({ sms: { otp: '123456' }, pad: 'x'.repeat(2 * 1024 * 1024 + 1) })
    await expectRefusal(
      await app.request('/send-sms', streamed(huge, signedPost(huge).headers as Record<string, string>)),
      413,
      true,
    )
    expect(provider.calls).toHaveLength(1)
  })

  it('accepts a large but legitimate user record (200 KiB of user_metadata)', async () => {
    const { app } = makeApp()
    const payload = JSON.parse(signupPayload().body) as { user: { user_metadata: unknown } }
    payload.user.user_metadata = { notes: 'y'.repeat(200 * 1024) }
    expect((await app.request('/send-sms', signedPost(JSON.stringify(payload)))).status).toBe(200)
  })

  it('refuses a payload without sms with 400, as an error object when metadata is present', async () => {
    const { app } = makeApp()
    const body = JSON.stringify({ metadata: { uuid: 'u-1' }, user: { phone: '8613800138000' } })
    await expectRefusal(await app.request('/send-sms', signedPost(body)), 400, false)
  })

  it('refuses a payload with no phone anywhere', async () => {
    const { app } = makeApp()
    const body = JSON.stringify({ user: { phone: '' }, sms: { otp: '123456' } })
    await expectRefusal(await app.request('/send-sms', signedPost(body)), 400, true)
  })
})

describe('retries inside the hook', () => {
  it('retries a retryable failure (nothing sent) and answers success when a later attempt succeeds', async () => {
    const provider = new ScriptedProvider(async (m, _o, call) => {
      if (call === 1) throw new ProviderError('retryable', 'throttled', { retryAfterMs: 10 })
      return { messageId: `ok-${m.reference}` }
    })
    const { app, logs } = makeApp({ provider })
    const { body } = fresh()
    expect((await app.request('/send-sms', signedPost(body))).status).toBe(200)
    expect(provider.calls).toHaveLength(2)
    expect(logs.find((l) => l.msg === 'hook')).toMatchObject({ outcome: 'sent', attempts: 2 })
  })

  it('gives up after three retryable failures with 503', async () => {
    const provider = new ScriptedProvider(async () => {
      throw new ProviderError('retryable', 'gateway down')
    })
    const { app } = makeApp({ provider })
    await expectRefusal(await app.request('/send-sms', signedPost(fresh().body)), 503, false)
    expect(provider.calls).toHaveLength(3)
  })

  for (const kind of ['rate_limited', 'recipient_invalid', 'configuration', 'outcome_unknown'] as const) {
    it(`never retries a ${kind} failure`, async () => {
      const provider = failing(kind)
      const { app } = makeApp({ provider })
      await app.request('/send-sms', signedPost(fresh().body))
      expect(provider.calls).toHaveLength(1)
    })
  }

  it('logs a configuration failure at error level with the provider code and request id', async () => {
    const { app, logs } = makeApp({ provider: failing('configuration') })
    await app.request('/send-sms', signedPost(fixtures.legacy))
    expect(logs.find((l) => l.msg === 'provider rejected our configuration')).toMatchObject({
      level: 'error',
      provider_code: 'X',
      request_id: 'req-1',
    })
  })
})

describe('other routes', () => {
  it('answers GET /healthz with {"status":"ok"}', async () => {
    const { app } = makeApp()
    const response = await app.request('/healthz')
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ status: 'ok' })
  })

  it('answers unknown routes with a JSON 404', async () => {
    const { app } = makeApp()
    const response = await app.request('/nope')
    expect(response.status).toBe(404)
    expect(await response.json()).toEqual({ error: { http_code: 404, message: 'Not found' } })
  })

  it('answers /send-sms with 405 and Allow: POST for any other method, and sends nothing', async () => {
    const provider = new ScriptedProvider()
    const { app } = makeApp({ provider })
    for (const method of ['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      const response = await app.request('/send-sms', { method })
      expect([method, response.status, response.headers.get('allow')]).toEqual([method, 405, 'POST'])
      if (method !== 'HEAD')
        expect(await response.json()).toEqual({ error: { http_code: 405, message: 'Method not allowed' } })
    }
    expect(provider.calls).toEqual([])
    // POST still reaches the hook: unsigned, it is refused as GoTrue's calls are checked.
    expect((await app.request('/send-sms', { method: 'POST', body: '{}' })).status).toBe(401)
  })
})
