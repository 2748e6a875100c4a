import { describe, expect, it } from 'vitest'
import { makeApp } from '../support/app.js'
import { signupPayload } from '../support/payloads.js'
import { gotrueHeaders, OTHER_SECRET, SECRET, signature, signedPost } from '../support/sign.js'

const now = () => Math.floor(Date.now() / 1000)

const expectUnauthorized = async (response: Response) => {
  expect(response.status).toBe(401)
  expect(response.headers.get('content-type')).toMatch(/^application\/json/)
  expect(await response.json()).toEqual({ error: { http_code: 401, message: 'Invalid webhook signature' } })
}

describe('POST /send-sms signature checks', () => {
  it('delivers a request signed as GoTrue signs it', async () => {
    const { app, inbox } = makeApp()
    const { body, otp } = signupPayload()
    const response = await app.request('/send-sms', signedPost(body))
    expect(response.status).toBe(200)
    expect((await inbox.list())[0]?.otp).toBe(otp)
  })

  it('refuses an unsigned request with 401 and logs a warning without the body', async () => {
    const { app, logs, inbox } = makeApp()
    const { body, otp } = signupPayload()
    await expectUnauthorized(
      await app.request('/send-sms', { method: 'POST', headers: { 'content-type': 'application/json' }, body }),
    )
    expect(await inbox.list()).toEqual([])
    const warning = logs.find((l) => l.msg === 'hook signature rejected')
    expect(warning).toMatchObject({ level: 'warn', reason: 'missing_headers' })
    expect(JSON.stringify(logs)).not.toContain(otp)
  })

  it('refuses a tampered body', async () => {
    const { app, inbox } = makeApp()
    const { body } = signupPayload({ otp: '123456' })
    const init = signedPost(body)
    await expectUnauthorized(await app.request('/send-sms', { ...init, body: body.replace('123456', '654321') }))
    expect(await inbox.list()).toEqual([])
  })

  it('refuses a signature made with another secret', async () => {
    const { app } = makeApp()
    await expectUnauthorized(
      await app.request('/send-sms', signedPost(signupPayload().body, { secrets: [OTHER_SECRET] })),
    )
  })

  it('refuses a stale timestamp (5 min + 1 s old) and a future one, and accepts the edges', async () => {
    // A clock that stands still: with the wall clock, a second passing between signing and checking would move
    // the edge (a timestamp 301 s ahead becomes 300 s ahead, and is accepted).
    const at = Date.now()
    const seconds = Math.floor(at / 1000)
    const { app, logs } = makeApp({ clock: { now: () => at } })
    const { body } = signupPayload()
    await expectUnauthorized(await app.request('/send-sms', signedPost(body, { timestamp: seconds - 301 })))
    await expectUnauthorized(await app.request('/send-sms', signedPost(body, { timestamp: seconds + 301 })))
    expect(
      (await app.request('/send-sms', signedPost(signupPayload().body, { timestamp: seconds - 300 }))).status,
    ).toBe(200)
    expect(
      (await app.request('/send-sms', signedPost(signupPayload().body, { timestamp: seconds + 300 }))).status,
    ).toBe(200)
    expect(logs.filter((l) => l.msg === 'hook signature rejected').map((l) => l.reason)).toEqual([
      'timestamp_too_old',
      'timestamp_too_new',
    ])
  })

  it('holds a shorter SMS_HOOK_SIGNATURE_TOLERANCE (30s) on both sides, edges included', async () => {
    const at = Date.now()
    const seconds = Math.floor(at / 1000)
    const { app, logs } = makeApp({ clock: { now: () => at }, env: { SMS_HOOK_SIGNATURE_TOLERANCE: '30s' } })
    // Well within the library's fixed 5 minutes, and correctly signed: only our own window refuses these.
    await expectUnauthorized(
      await app.request('/send-sms', signedPost(signupPayload().body, { timestamp: seconds - 31 })),
    )
    await expectUnauthorized(
      await app.request('/send-sms', signedPost(signupPayload().body, { timestamp: seconds + 31 })),
    )
    expect((await app.request('/send-sms', signedPost(signupPayload().body, { timestamp: seconds - 30 }))).status).toBe(
      200,
    )
    expect((await app.request('/send-sms', signedPost(signupPayload().body, { timestamp: seconds + 30 }))).status).toBe(
      200,
    )
    expect(logs.filter((l) => l.msg === 'hook signature rejected').map((l) => l.reason)).toEqual([
      'timestamp_too_old',
      'timestamp_too_new',
    ])
  })

  it('refuses a timestamp with trailing garbage even when the signature covers it', async () => {
    const { app } = makeApp()
    const { body } = signupPayload()
    const timestamp = `${now()}abc`
    await expectUnauthorized(await app.request('/send-sms', signedPost(body, { timestamp })))
  })

  it('accepts GoTrue\'s ", "-joined header holding a stale secret\'s signature and the current one', async () => {
    const { app } = makeApp({ env: { GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET } })
    const response = await app.request(
      '/send-sms',
      signedPost(signupPayload().body, { secrets: [OTHER_SECRET, SECRET], join: ', ' }),
    )
    expect(response.status).toBe(200)
  })

  it("accepts the spec's space-joined header", async () => {
    const { app } = makeApp()
    const response = await app.request(
      '/send-sms',
      signedPost(signupPayload().body, { secrets: [OTHER_SECRET, SECRET], join: ' ' }),
    )
    expect(response.status).toBe(200)
  })

  it('accepts either secret while both are configured during a rotation', async () => {
    const { app } = makeApp({ env: { GOTRUE_HOOK_SEND_SMS_SECRETS: `${SECRET}|${OTHER_SECRET}` } })
    for (const secret of [SECRET, OTHER_SECRET]) {
      const response = await app.request('/send-sms', signedPost(signupPayload().body, { secrets: [secret] }))
      expect(response.status).toBe(200)
    }
  })

  it('verifies the raw bytes: a re-serialised body with the same JSON meaning is refused', async () => {
    const { app } = makeApp()
    const { body } = signupPayload()
    const headers = gotrueHeaders(body)
    const reformatted = JSON.stringify(JSON.parse(body), null, 1)
    await expectUnauthorized(await app.request('/send-sms', { method: 'POST', headers, body: reformatted }))
  })

  it('refuses the signature of another message id', async () => {
    const { app } = makeApp()
    const { body } = signupPayload()
    const headers = gotrueHeaders(body)
    headers['webhook-signature'] = signature(SECRET, 'msg_other', headers['webhook-timestamp']!, body)
    await expectUnauthorized(await app.request('/send-sms', { method: 'POST', headers, body }))
  })
})
