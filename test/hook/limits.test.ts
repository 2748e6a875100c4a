/**
 * The body limit and the order of the checks before it, over HTTP: GoTrue's bodies may exceed 1 MiB (a 1 MiB
 * `user_metadata` plus the rest of the user record), and a call that is not GoTrue's must cost no body read.
 */
import { describe, expect, it } from 'vitest'
import { MAX_BODY_BYTES } from '../../src/hook/handler.js'
import { makeApp } from '../support/app.js'
import { signupPayload } from '../support/payloads.js'
import { gotrueHeaders, signedPost } from '../support/sign.js'

const MiB = 1024 * 1024

/** A signup payload whose `user_metadata` makes the body `size` bytes long (ASCII, so bytes = characters). */
const payloadOf = (size: number) => {
  const payload = signupPayload()
  const parsed = JSON.parse(payload.body) as { user: { user_metadata: Record<string, string> } }
  parsed.user.user_metadata = { bio: '' }
  const bare = JSON.stringify(parsed).length
  parsed.user.user_metadata = { bio: 'x'.repeat(size - bare) }
  const body = JSON.stringify(parsed)
  expect(body.length).toBe(size)
  return { ...payload, body }
}

/**
 * A request body of `size` bytes that counts what is taken from it. highWaterMark 0: nothing is pulled before a
 * reader asks, so `pulled` is 0 exactly when the handler never read the body.
 */
const countedBody = (size: number, chunk = 64 * 1024) => {
  const counter = { pulled: 0, bytes: 0 }
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        counter.pulled++
        const n = Math.min(chunk, size - counter.bytes)
        if (n <= 0) return controller.close()
        counter.bytes += n
        controller.enqueue(new Uint8Array(n).fill(0x78))
      },
    },
    { highWaterMark: 0 },
  )
  return { stream, counter }
}

const post = (headers: Record<string, string>, body: ReadableStream<Uint8Array>) =>
  new Request('http://hook.test/send-sms', { method: 'POST', headers, body, duplex: 'half' } as RequestInit)

describe('the body limit', () => {
  it('is 2 MiB', () => expect(MAX_BODY_BYTES).toBe(2 * MiB))

  it('delivers a signed 1.5 MiB payload (a large user_metadata)', async () => {
    const { app, inbox } = makeApp()
    const { body, otp } = payloadOf(1.5 * MiB)
    const response = await app.request('/send-sms', signedPost(body))
    expect(response.status).toBe(200)
    expect((await inbox.list())[0]?.otp).toBe(otp)
  })

  it('delivers a signed payload of exactly 2 MiB', async () => {
    const { app } = makeApp()
    const response = await app.request('/send-sms', signedPost(payloadOf(2 * MiB).body))
    expect(response.status).toBe(200)
  })

  it('refuses a signed payload one byte over 2 MiB with 413', async () => {
    const { app, events, inbox } = makeApp()
    const response = await app.request('/send-sms', signedPost(payloadOf(2 * MiB + 1).body))
    expect(response.status).toBe(413)
    expect(await response.json()).toEqual({ error: { http_code: 413, message: 'Payload too large' } })
    expect(events).toContainEqual(expect.objectContaining({ type: 'refused', step: 'body', reason: 'body too large' }))
    expect(await inbox.list()).toEqual([])
  })

  it('refuses by its Content-Length a signed call declaring more than 2 MiB, before reading', async () => {
    const { app } = makeApp()
    const { body } = signupPayload()
    const { stream, counter } = countedBody(2 * MiB + 1)
    const response = await app.fetch(post({ ...gotrueHeaders(body), 'content-length': String(2 * MiB + 1) }, stream))
    expect(response.status).toBe(413)
    expect(counter.pulled).toBe(0)
  })

  it('counts a chunked body while streaming it and stops at the limit', async () => {
    const { app } = makeApp()
    const { body } = signupPayload()
    const { stream, counter } = countedBody(3 * MiB)
    const response = await app.fetch(post(gotrueHeaders(body), stream))
    expect(response.status).toBe(413)
    // Cancelled at the first chunk over the limit, not read to the end.
    expect(counter.bytes).toBeLessThanOrEqual(2 * MiB + 64 * 1024)
  })
})

describe('the checks before the body', () => {
  it('refuses an unsigned 2 MiB call (no webhook headers) with 401 without reading its body', async () => {
    const { app, events } = makeApp()
    const { stream, counter } = countedBody(2 * MiB)
    const response = await app.fetch(
      post({ 'content-type': 'application/json', 'content-length': String(2 * MiB) }, stream),
    )
    expect(response.status).toBe(401)
    expect(await response.json()).toEqual({ error: { http_code: 401, message: 'Invalid webhook signature' } })
    expect(counter.pulled).toBe(0)
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'refused', step: 'verify', reason: 'missing_headers' }),
    )
  })

  it('refuses an unsigned call over the limit with 401, not 413: the headers come first', async () => {
    const { app } = makeApp()
    const { stream, counter } = countedBody(3 * MiB)
    const response = await app.fetch(post({ 'content-length': String(3 * MiB) }, stream))
    expect(response.status).toBe(401)
    expect(counter.pulled).toBe(0)
  })

  for (const missing of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
    it(`refuses a call without ${missing} without reading its body`, async () => {
      const { app } = makeApp()
      const headers = gotrueHeaders(signupPayload().body)
      delete headers[missing]
      const { stream, counter } = countedBody(2 * MiB)
      expect((await app.fetch(post(headers, stream))).status).toBe(401)
      expect(counter.pulled).toBe(0)
    })
  }

  it('refuses a stale or future timestamp on a big body with 401 without reading it', async () => {
    const at = Date.now()
    const seconds = Math.floor(at / 1000)
    const { app, events } = makeApp({ clock: { now: () => at } })
    for (const timestamp of [seconds - 301, seconds + 301]) {
      const { body } = payloadOf(1.5 * MiB)
      const { stream, counter } = countedBody(1.5 * MiB)
      const response = await app.fetch(
        post({ ...gotrueHeaders(body, { timestamp }), 'content-length': String(1.5 * MiB) }, stream),
      )
      expect(response.status).toBe(401)
      expect(counter.pulled).toBe(0)
    }
    expect(events.filter((e) => e.type === 'refused').map((e) => (e as { reason?: string }).reason)).toEqual([
      'timestamp_too_old',
      'timestamp_too_new',
    ])
  })

  it('refuses a timestamp that is not all digits without reading the body', async () => {
    const { app } = makeApp()
    const { body } = signupPayload()
    const { stream, counter } = countedBody(MiB)
    const response = await app.fetch(
      post(gotrueHeaders(body, { timestamp: `${Math.floor(Date.now() / 1000)}abc` }), stream),
    )
    expect(response.status).toBe(401)
    expect(counter.pulled).toBe(0)
  })

  it('still reads the body and answers 401 when the headers pass but the signature does not', async () => {
    const { app, events } = makeApp()
    const { body } = signupPayload()
    const headers = gotrueHeaders(body)
    const response = await app.request('/send-sms', {
      method: 'POST',
      headers,
      body: body.replace('authenticated', 'anonymous'),
    })
    expect(response.status).toBe(401)
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'refused', step: 'verify', reason: 'no_matching_signature' }),
    )
  })
})
