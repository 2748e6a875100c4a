import { describe, expect, it } from 'vitest'
import { MESSAGES } from '../../src/outcome.js'
import { makeApp } from '../support/app.js'
import { signupPayload } from '../support/payloads.js'
import { signedPost } from '../support/sign.js'

// makeApp turns the per-number and per-IP limits off unless a test sets them; these set them, or unset them.
const DEFAULTS = { SMS_HOOK_LIMIT_PER_NUMBER: undefined, SMS_HOOK_LIMIT_PER_IP: undefined }
const tooMany = { error: { http_code: 429, message: MESSAGES.tooManyRequests } }

describe('the guard in development mode', () => {
  it('has no velocity limits unless they are set: the 40th code to one number from one address goes', async () => {
    const { app, config } = makeApp({ env: DEFAULTS })
    expect(config.mode).toBe('development')
    expect(Object.values(config.guard.limits).every((limit) => limit === undefined)).toBe(true)
    for (let i = 0; i < 40; i++) {
      const response = await app.request('/send-sms', signedPost(signupPayload({ otp: String(100000 + i) }).body))
      expect(await response.json()).toEqual({})
    }
  })

  it('applies a limit that is set, and DELETE /dev/inbox clears its counts with the inbox', async () => {
    const { app, inbox } = makeApp({ env: { ...DEFAULTS, SMS_HOOK_LIMIT_PER_NUMBER: '2/1h' } })
    const send = async (otp: string) => (await app.request('/send-sms', signedPost(signupPayload({ otp }).body))).json()
    expect(await send('100001')).toEqual({})
    expect(await send('100002')).toEqual({})
    expect(await send('100003')).toEqual(tooMany)

    expect((await app.request('/dev/inbox', { method: 'DELETE' })).status).toBe(204)
    expect(await inbox.list()).toEqual([])
    expect(await send('100004')).toEqual({})
    expect((await inbox.list()).map((entry) => entry.otp)).toEqual(['100004'])
  })

  it('keeps production counts when a token holder clears the inbox in production', async () => {
    const token = 'a-token-of-32-characters-or-more!'
    const { app } = makeApp({
      env: {
        NODE_ENV: 'production',
        GOTRUE_SMS_PROVIDER: 'console',
        SMS_HOOK_INBOX_TOKEN: token,
        SMS_HOOK_LIMIT_PER_NUMBER: '1/1h',
      },
    })
    const send = async (otp: string) => (await app.request('/send-sms', signedPost(signupPayload({ otp }).body))).json()
    expect(await send('100001')).toEqual({})
    expect(await send('100002')).toEqual(tooMany)
    const cleared = await app.request('/dev/inbox', { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })
    expect(cleared.status).toBe(204)
    expect(await send('100003')).toEqual(tooMany)
  })
})
