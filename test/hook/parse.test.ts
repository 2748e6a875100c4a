import { describe, expect, it } from 'vitest'
import { parsePayload } from '../../src/hook/parse.js'
import { makeApp, ScriptedProvider } from '../support/app.js'
import { fixtures, fresh } from '../support/payloads.js'
import { signedPost } from '../support/sign.js'

const send = async (body: string, env: Record<string, string> = {}) => {
  const provider = new ScriptedProvider()
  const { app } = makeApp({ provider, env })
  const response = await app.request('/send-sms', signedPost(body))
  expect(response.status).toBe(200)
  expect(provider.calls).toHaveLength(1)
  return provider.calls[0]!.message
}

describe('destination and message from GoTrue payloads', () => {
  it('signup (v2.187+): sends the OTP to sms.phone with the default template', async () => {
    const message = await send(fixtures.signup)
    expect(message).toMatchObject({ to: { e164: '8613800138000', callingCode: '86', national: '13800138000' }, otp: '482913', text: 'Your code is 482913', smsType: 'sms' })
    expect(message.reference).toBe('9f1c2a57-5a4b-4c1e-9d1e-0c7a1e2b3c4d')
  })

  it('phone change: sends to the new number, never the old user.phone', async () => {
    const message = await send(fixtures.phoneChange)
    expect(message.to.e164).toBe('8613900139000')
    expect(message.otp).toBe('730155')
  })

  it('MFA challenge: sends to the factor\'s phone with GOTRUE_MFA_PHONE_TEMPLATE', async () => {
    const message = await send(fixtures.mfa, { GOTRUE_MFA_PHONE_TEMPLATE: 'Your MFA code: {{ .Code }}' })
    expect(message).toMatchObject({ to: { e164: '8613700137000', callingCode: '86', national: '13700137000' }, otp: '902114', smsType: 'mfa', text: 'Your MFA code: 902114' })
  })

  it('legacy payload (no metadata, no sms.phone): sends to user.phone, keyed by the body hash', async () => {
    const message = await send(fixtures.legacy)
    expect(message.to.e164).toBe('14155550123')
    expect(message.reference).toMatch(/^[0-9a-f]{64}$/)
  })

  it('renders GOTRUE_SMS_TEMPLATE with the code and the expiry in minutes', async () => {
    const message = await send(fresh().body, {
      GOTRUE_SMS_TEMPLATE: '{{.Code}} is your code, valid for {{ .ExpiryMinutes }} min',
      GOTRUE_SMS_OTP_EXP: '300',
    })
    expect(message.text).toBe('482913 is your code, valid for 5 min')
  })

  it('tolerates a leading + on the destination', async () => {
    const body = fresh().body.replace('"phone":"8613800138000"}}', '"phone":"+8613800138000"}}')
    expect((await send(body)).to.e164).toBe('8613800138000')
  })

  it('falls through empty fields but never past an invalid one', async () => {
    const provider = new ScriptedProvider()
    const { app } = makeApp({ provider })
    const emptySms = JSON.stringify({ user: { phone: '8613800138000', new_phone: '' }, sms: { otp: '123456', phone: '' } })
    expect((await app.request('/send-sms', signedPost(emptySms))).status).toBe(200)
    expect(provider.calls[0]?.message.to.e164).toBe('8613800138000')
    const invalidSms = JSON.stringify({ user: { phone: '8613800138000' }, sms: { otp: '123456', phone: 'abc' } })
    expect((await app.request('/send-sms', signedPost(invalidSms))).status).toBe(400)
    expect(provider.calls).toHaveLength(1)
  })

  it('lets unknown fields of the user record through', async () => {
    const payload = JSON.parse(fresh().body) as Record<string, Record<string, unknown>>
    payload.user!.future_field = { nested: [1, 2, 3] }
    payload.sms!.channel = 'whatsapp'
    expect((await send(JSON.stringify(payload))).to.e164).toBe('8613800138000')
  })
})

describe("the end user's address (metadata.ip_address, v2.187+)", () => {
  const withIp = (ip: unknown) => {
    const payload = JSON.parse(fixtures.signup) as { metadata: Record<string, unknown> }
    payload.metadata.ip_address = ip
    return JSON.stringify(payload)
  }
  const ipOf = (body: string) => {
    const parsed = parsePayload(body)
    if (!parsed.ok) throw new Error(parsed.reason)
    return parsed.payload.ip
  }

  it('is read from metadata.ip_address, trimmed', () => {
    expect(ipOf(fixtures.signup)).toBe('203.0.113.7')
    expect(ipOf(withIp(' 2001:db8::1 '))).toBe('2001:db8::1')
  })

  it('is absent without metadata (GoTrue before v2.187), or when empty', () => {
    expect(ipOf(fixtures.legacy)).toBeUndefined()
    expect(ipOf(withIp(''))).toBeUndefined()
    expect(ipOf(withIp(null))).toBeUndefined()
  })

  it('never costs the user the OTP when it is not a string', async () => {
    expect(ipOf(withIp(42))).toBeUndefined()
    expect(ipOf(withIp({ v4: '203.0.113.7' }))).toBeUndefined()
    expect((await send(withIp(['203.0.113.7']))).otp).toBe('482913')
  })
})

describe('numbers normalised before any provider sees them', () => {
  it('with SMS_HOOK_NATIONAL_NUMBERS=86, every provider (the console inbox too) sees a bare mainland mobile as +86', async () => {
    const payload = JSON.parse(fresh().body) as { sms: { phone: string } }
    payload.sms.phone = '13800138000'
    expect((await send(JSON.stringify(payload), { SMS_HOOK_NATIONAL_NUMBERS: '86' })).to).toEqual({
      e164: '8613800138000',
      callingCode: '86',
      national: '13800138000',
    })
    const { app, inbox } = makeApp({ env: { SMS_HOOK_NATIONAL_NUMBERS: '86' } })
    expect((await app.request('/send-sms', signedPost(JSON.stringify(payload)))).status).toBe(200)
    expect((await inbox.list())[0]?.to).toBe('8613800138000')
  })

  it('refuses a number with no calling code in service with 400 invalid phone, calling no provider', async () => {
    const provider = new ScriptedProvider()
    const { app } = makeApp({ provider })
    const payload = JSON.parse(fresh().body) as { sms: { phone: string } }
    payload.sms.phone = '99912345678'
    const response = await app.request('/send-sms', signedPost(JSON.stringify(payload)))
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ error: { http_code: 400, message: 'Invalid phone number' } })
    expect(provider.calls).toHaveLength(0)
  })
})
