import { describe, expect, it } from 'vitest'
import { makeApp } from '../support/app.js'
import { fixtures, fresh, signupPayload } from '../support/payloads.js'
import { signedPost } from '../support/sign.js'
import type { InboxEntry } from '../../src/dev/inbox.js'

describe('console provider and development inbox', () => {
  it('lists sent codes newest first in /dev/inbox.json', async () => {
    const { app } = makeApp()
    const first = fresh()
    await app.request('/send-sms', signedPost(first.body))
    await app.request('/send-sms', signedPost(fresh(fixtures.mfa).body))
    const response = await app.request('/dev/inbox.json')
    expect(response.status).toBe(200)
    const entries = (await response.json()) as InboxEntry[]
    expect(entries).toHaveLength(2)
    expect(entries[0]).toMatchObject({ to: '8613700137000', otp: '902114', sms_type: 'mfa', text: 'Your code is 902114' })
    expect(entries[1]).toEqual({
      id: first.uuid,
      to: '8613800138000',
      otp: '482913',
      text: 'Your code is 482913',
      sms_type: 'sms',
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    })
  })

  it('keeps the last 100 messages', async () => {
    const { app } = makeApp()
    for (let i = 0; i < 105; i++) await app.request('/send-sms', signedPost(signupPayload({ otp: String(100000 + i) }).body))
    const entries = (await (await app.request('/dev/inbox.json')).json()) as InboxEntry[]
    expect(entries).toHaveLength(100)
    expect(entries[0]?.otp).toBe('100104')
    expect(entries[99]?.otp).toBe('100005')
  })

  it('serves an HTML page that refreshes itself and escapes what it shows', async () => {
    const { app } = makeApp({ env: { GOTRUE_SMS_TEMPLATE: '<b>{{ .Code }}</b>' } })
    await app.request('/send-sms', signedPost(signupPayload({ otp: '246810' }).body))
    const response = await app.request('/dev/inbox')
    expect(response.headers.get('content-type')).toMatch(/^text\/html/)
    const html = await response.text()
    expect(html).toContain('http-equiv="refresh"')
    expect(html).toContain('246810')
    expect(html).toContain('&#60;b&#62;246810&#60;/b&#62;')
    expect(html).not.toContain('<b>246810</b>')
  })

  it('prints one line per OTP with the full destination, the code and the text', async () => {
    const { app, logs } = makeApp()
    await app.request('/send-sms', signedPost(fresh().body))
    const line = logs.find((l) => l.provider === 'console' && 'otp' in l)
    expect(line).toMatchObject({ level: 'info', to: '8613800138000', otp: '482913' })
    expect(line?.msg).toContain('+8613800138000')
    expect(line?.msg).toContain('Your code is 482913')
  })

  describe('in production', () => {
    const production = { NODE_ENV: 'production', GOTRUE_SMS_PROVIDER: 'console' }

    it('answers loopback callers', async () => {
      for (const address of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) {
        const { app } = makeApp({ env: production, remoteAddress: address })
        expect((await app.request('/dev/inbox.json')).status).toBe(200)
      }
    })

    it('refuses everyone else with 403', async () => {
      const { app } = makeApp({ env: production, remoteAddress: '203.0.113.7' })
      expect((await app.request('/dev/inbox.json')).status).toBe(403)
      expect((await app.request('/dev/inbox')).status).toBe(403)
      const unknown = makeApp({ env: production })
      expect((await unknown.app.request('/dev/inbox.json')).status).toBe(403)
    })
  })
})
