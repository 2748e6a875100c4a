/** The console inbox on Workers: kept in its Durable Object, shown only to holders of SMS_HOOK_INBOX_TOKEN. */
import { describe, expect, it } from 'vitest'
import type { InboxEntry } from '../../src/dev/inbox.js'
import { aliyunEnv } from '../providers/aliyun/fake.js'
import { fixtures, fresh } from '../support/payloads.js'
import { INBOX_TOKEN, SECRET, signedPost } from '../support/sign.js'
import { call, CONSOLE as WITHOUT_TOKEN, isolate } from './support.js'

const CONSOLE = { ...WITHOUT_TOKEN, SMS_HOOK_INBOX_TOKEN: INBOX_TOKEN }
const local = { authorization: `Bearer ${INBOX_TOKEN}` }

describe('the console inbox on Workers', () => {
  it('shows a code sent in one isolate to a local caller of another', async () => {
    const sent = fresh(fixtures.mfa)
    expect((await call(isolate(CONSOLE), '/send-sms', signedPost(sent.body))).status).toBe(200)

    const reader = isolate(CONSOLE)
    const json = await call(reader, '/dev/inbox.json', { headers: local })
    expect(json.status).toBe(200)
    const entries = (await json.json()) as InboxEntry[]
    expect(entries.find((e) => e.id === sent.uuid)).toEqual({
      id: sent.uuid,
      to: '8613700137000',
      otp: '902114',
      text: 'Your code is 902114',
      sms_type: 'mfa',
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    })
    const page = await call(reader, '/dev/inbox', { headers: local })
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    expect(await page.text()).toContain('902114')
  })

  it('lists newest first', async () => {
    const bindings = isolate(CONSOLE)
    const [older, newer] = [fresh(), fresh()]
    await call(bindings, '/send-sms', signedPost(older.body))
    await call(bindings, '/send-sms', signedPost(newer.body))
    const ids = ((await (await call(bindings, '/dev/inbox.json', { headers: local })).json()) as InboxEntry[]).map(
      (e) => e.id,
    )
    expect(ids.indexOf(newer.uuid)).toBeLessThan(ids.indexOf(older.uuid))
  })

  it('refuses the inbox to anyone without the token, whatever address a header claims: a Worker is always in production', async () => {
    const callers: Record<string, string>[] = [
      {},
      { 'cf-connecting-ip': '127.0.0.1' },
      { 'x-forwarded-for': '127.0.0.1' },
      { authorization: 'Bearer not-the-token-0123456789' },
    ]
    for (const headers of callers) {
      const response = await call(isolate(CONSOLE), '/dev/inbox.json', { headers })
      expect(response.status).toBe(401)
      expect(await response.json()).toMatchObject({ error: { http_code: 401 } })
    }
  })

  it('serves no inbox at all without SMS_HOOK_INBOX_TOKEN', async () => {
    const response = await call(isolate(WITHOUT_TOKEN), '/dev/inbox.json', {
      headers: { 'cf-connecting-ip': '127.0.0.1' },
    })
    expect(response.status).toBe(404)
  })

  it('has no inbox routes with a real provider', async () => {
    const bindings = isolate({ GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, ...aliyunEnv() })
    const response = await call(bindings, '/dev/inbox.json', { headers: local })
    expect(response.status).toBe(404)
  })
})
