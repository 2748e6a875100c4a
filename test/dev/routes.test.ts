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
    expect(entries[0]).toMatchObject({
      to: '8613700137000',
      otp: '902114',
      sms_type: 'mfa',
      text: 'Your code is 902114',
    })
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
    for (let i = 0; i < 105; i++)
      await app.request('/send-sms', signedPost(signupPayload({ otp: String(100000 + i) }).body))
    const entries = (await (await app.request('/dev/inbox.json')).json()) as InboxEntry[]
    expect(entries).toHaveLength(100)
    expect(entries[0]?.otp).toBe('100104')
    expect(entries[99]?.otp).toBe('100005')
  })

  it('serves an HTML page that updates its table in place and escapes what it shows', async () => {
    const { app } = makeApp({ env: { GOTRUE_SMS_TEMPLATE: '<b>{{ .Code }}</b>' } })
    await app.request('/send-sms', signedPost(signupPayload({ otp: '246810' }).body))
    const response = await app.request('/dev/inbox')
    expect(response.headers.get('content-type')).toMatch(/^text\/html/)
    const html = await response.text()
    // No full reload (it would interrupt copying a code): the script rebuilds the table body with text nodes.
    expect(html).not.toContain('http-equiv="refresh"')
    expect(html).toContain("fetch('inbox.json'")
    expect(html).toContain('textContent')
    expect(html).toContain('toLocaleString')
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

  it('filters by destination with ?to=, with or without +', async () => {
    const { app } = makeApp()
    await app.request('/send-sms', signedPost(fresh().body))
    await app.request('/send-sms', signedPost(fresh(fixtures.mfa).body))
    for (const to of ['8613700137000', '+8613700137000', '%2B8613700137000']) {
      const entries = (await (await app.request(`/dev/inbox.json?to=${to}`)).json()) as InboxEntry[]
      expect(entries.map((e) => e.to)).toEqual(['8613700137000'])
    }
    expect(await (await app.request('/dev/inbox.json?to=447700900123')).json()).toEqual([])
  })

  it('empties the inbox on DELETE /dev/inbox', async () => {
    const { app } = makeApp()
    await app.request('/send-sms', signedPost(fresh().body))
    expect((await app.request('/dev/inbox', { method: 'DELETE' })).status).toBe(204)
    expect(await (await app.request('/dev/inbox.json')).json()).toEqual([])
  })

  describe('in development', () => {
    it('answers this machine and private networks', async () => {
      for (const address of [
        '127.0.0.1',
        '::1',
        '::ffff:127.0.0.1',
        '10.1.2.3',
        '172.16.0.5',
        '172.31.255.1',
        '192.168.1.20',
        '::ffff:192.168.65.1',
        'fd00::1',
        'fe80::1',
        '169.254.1.1',
      ]) {
        const { app } = makeApp({ remoteAddress: address })
        expect((await app.request('/dev/inbox.json')).status, address).toBe(200)
      }
    })

    it('refuses public addresses with 403', async () => {
      for (const address of ['203.0.113.7', '172.32.0.1', '8.8.8.8', '2001:db8::1', '::ffff:203.0.113.7']) {
        const { app } = makeApp({ remoteAddress: address })
        const response = await app.request('/dev/inbox.json')
        expect(response.status, address).toBe(403)
        expect(await response.json()).toMatchObject({ error: { http_code: 403 } })
      }
    })
  })

  describe('in production', () => {
    const token = 'tok-0123456789abcdef'
    const production = { NODE_ENV: 'production', GOTRUE_SMS_PROVIDER: 'console', SMS_HOOK_INBOX_TOKEN: token }

    it('has no inbox routes without SMS_HOOK_INBOX_TOKEN, whoever asks', async () => {
      const { app } = makeApp({
        env: { NODE_ENV: 'production', GOTRUE_SMS_PROVIDER: 'console' },
        remoteAddress: '127.0.0.1',
      })
      expect((await app.request('/dev/inbox.json')).status).toBe(404)
      expect((await app.request('/dev/inbox')).status).toBe(404)
    })

    it('answers only the bearer of the token, whatever the address (a reverse proxy makes every caller 127.0.0.1)', async () => {
      const { app } = makeApp({ env: production, remoteAddress: '127.0.0.1' })
      for (const headers of [
        {} as Record<string, string>,
        { authorization: 'Bearer wrong-token-0123456789' },
        { authorization: `Basic ${token}` },
        { authorization: `Bearer ${token}x` },
      ]) {
        const response = await app.request('/dev/inbox.json', { headers })
        expect(response.status).toBe(401)
        expect(await response.json()).toMatchObject({ error: { http_code: 401 } })
      }
      expect((await app.request('/dev/inbox', { method: 'DELETE' })).status).toBe(401)
      expect((await app.request('/dev/inbox.json', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
    })

    it('lets a browser open /dev/inbox?token= once: an HttpOnly, SameSite=Strict cookie, and the token leaves the URL', async () => {
      const { app } = makeApp({ env: production, remoteAddress: '203.0.113.7' })
      expect((await app.request('/dev/inbox?token=wrong-token-0123456789')).status).toBe(401)
      const opened = await app.request(`/dev/inbox?token=${token}`)
      expect(opened.status).toBe(303)
      expect(opened.headers.get('location')).toBe('/dev/inbox')
      const cookie = opened.headers.get('set-cookie')!
      expect(cookie).toMatch(/HttpOnly/)
      expect(cookie).toMatch(/SameSite=Strict/)
      expect(cookie).toMatch(/Path=\/dev/)
      const pair = cookie.split(';')[0]!
      expect((await app.request('/dev/inbox', { headers: { cookie: pair } })).status).toBe(200)
      expect((await app.request('/dev/inbox.json', { headers: { cookie: pair } })).status).toBe(200)
      expect((await app.request('/dev/inbox.json', { headers: { cookie: 'sms_hook_inbox=nope' } })).status).toBe(401)
    })

    it('refuses a short token at start-up, naming SMS_HOOK_INBOX_TOKEN', () => {
      expect(() => makeApp({ env: { ...production, SMS_HOOK_INBOX_TOKEN: 'short' } })).toThrow(
        /^SMS_HOOK_INBOX_TOKEN: /,
      )
    })
  })
})
