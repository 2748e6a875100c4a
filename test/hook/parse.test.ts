import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { parsePayload } from '../../src/hook/parse.js'
import { makeApp, ScriptedProvider } from '../support/app.js'
import { fixtures, fresh, signupPayload } from '../support/payloads.js'
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
    expect(message).toMatchObject({
      to: { e164: '8613800138000', callingCode: '86', national: '13800138000' },
      otp: '482913',
      text: 'Your code is 482913',
      smsType: 'sms',
    })
    expect(message.reference).toBe('9f1c2a57-5a4b-4c1e-9d1e-0c7a1e2b3c4d')
  })

  it('phone change: sends to the new number, never the old user.phone', async () => {
    const message = await send(fixtures.phoneChange)
    expect(message.to.e164).toBe('8613900139000')
    expect(message.otp).toBe('730155')
  })

  it("MFA challenge: sends to the factor's phone with GOTRUE_MFA_PHONE_TEMPLATE", async () => {
    const message = await send(fixtures.mfa, { GOTRUE_MFA_PHONE_TEMPLATE: 'Your MFA code: {{ .Code }}' })
    expect(message).toMatchObject({
      to: { e164: '8613700137000', callingCode: '86', national: '13700137000' },
      otp: '902114',
      smsType: 'mfa',
      text: 'Your MFA code: 902114',
    })
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
    const emptySms = JSON.stringify({
      user: { phone: '8613800138000', new_phone: '' },
      sms: { otp: '123456', phone: '' },
    })
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

const parsedOf = (body: string) => {
  const parsed = parsePayload(body)
  if (!parsed.ok) throw new Error(parsed.reason)
  return parsed.payload
}

type Json = Record<string, any>
const edit = (raw: string, change: (payload: Json) => void) => {
  const payload = JSON.parse(raw) as Json
  change(payload)
  return JSON.stringify(payload)
}

describe("GoTrue's time of the call (metadata.time, v2.187+)", () => {
  const withTime = (time: unknown) => edit(fixtures.signup, (p) => (p.metadata.time = time))

  it('reads RFC 3339 with 9 fractional digits as epoch milliseconds, on this runtime', () => {
    expect(parsedOf(fixtures.signup).time).toBe(Date.UTC(2026, 7, 20, 10, 54, 52, 123))
  })

  it('reads every fraction Go writes (none to 9 digits) and offsets', () => {
    const at = Date.UTC(2026, 7, 20, 10, 54, 52)
    expect(parsedOf(withTime('2026-08-20T10:54:52Z')).time).toBe(at)
    expect(parsedOf(withTime('2026-08-20T10:54:52.1Z')).time).toBe(at + 100)
    expect(parsedOf(withTime('2026-08-20T10:54:52.999999999Z')).time).toBe(at + 999)
    expect(parsedOf(withTime('2026-08-20T12:54:52.5+02:00')).time).toBe(at + 500)
    expect(parsedOf(withTime('2026-08-20t10:54:52.25z')).time).toBe(at + 250)
  })

  it('is undefined without metadata (before v2.187) or when unreadable, and the OTP still goes', async () => {
    expect(parsedOf(fixtures.legacy).time).toBeUndefined()
    for (const time of [
      undefined,
      null,
      '',
      'yesterday',
      '2026-08-20',
      '2026-08-20T10:54:52',
      '2026-08-20T25:54:52Z',
      '2026-08-20T10:54:52.1234567890Z',
      1787223292123,
      {},
    ]) {
      expect(parsedOf(withTime(time)).time).toBeUndefined()
    }
    expect((await send(fresh(withTime('not a time')).body)).otp).toBe('482913')
  })
})

describe('MFA challenges before v2.180 (the number only in user.factors)', () => {
  const phoneOf = (body: string) => parsedOf(body).phone
  const factors = (list: unknown[]) =>
    edit(fixtures.mfaV2173, (p) => {
      p.user.factors = list
    })
  const phoneFactor = (phone: string, status: string, updated_at: string) => ({
    id: crypto.randomUUID(),
    factor_type: 'phone',
    phone,
    status,
    updated_at,
    created_at: '2026-08-01T08:00:00Z',
  })

  it('v2.173: sends to the verified phone factor, not the newer unverified one nor user.phone', async () => {
    const message = await send(fixtures.mfaV2173)
    expect(message).toMatchObject({
      to: { e164: '8613700137000' },
      otp: '551207',
      smsType: 'mfa',
      text: 'Your code is 551207',
    })
    expect(message.reference).toMatch(/^[0-9a-f]{64}$/)
  })

  it('sends to the only phone factor, whatever its status', () => {
    expect(phoneOf(factors([phoneFactor('8613600136000', 'unverified', '2026-08-19T18:30:00Z')]))).toBe('8613600136000')
  })

  it('of several verified ones, to the most recently updated', () => {
    const list = [
      phoneFactor('8613700137000', 'verified', '2026-08-10T12:00:00.654321Z'),
      phoneFactor('8613600136000', 'verified', '2026-08-10T12:00:00.655Z'),
      phoneFactor('8613500135000', 'verified', '2026-08-09T12:00:00Z'),
    ]
    expect(phoneOf(factors(list))).toBe('8613600136000')
    expect(phoneOf(factors(list.reverse()))).toBe('8613600136000')
  })

  it('with none verified, to the most recently updated', () => {
    const list = [
      phoneFactor('8613700137000', 'unverified', '2026-08-10T12:00:00Z'),
      phoneFactor('8613600136000', 'unverified', '2026-08-11T12:00:00Z'),
    ]
    expect(phoneOf(factors(list))).toBe('8613600136000')
  })

  it('skips entries that are not phone factors with a phone, and reads odd fields leniently', () => {
    const list = [
      null,
      'factor',
      [phoneFactor('8613100131000', 'verified', '2026-08-20T00:00:00Z')],
      { factor_type: 'totp', status: 'verified', updated_at: '2026-08-20T00:00:00Z' },
      { ...phoneFactor('', 'verified', '2026-08-20T00:00:00Z') },
      { ...phoneFactor('8613200132000', 'verified', '2026-08-20T00:00:00Z'), phone: 8613200132000 },
      { ...phoneFactor('8613300133000', 'verified', '2026-08-20T00:00:00Z'), factor_type: undefined },
      { factor_type: 'phone', phone: '8613400134000', future_field: { nested: true } },
    ]
    expect(phoneOf(factors(list))).toBe('8613400134000')
    // A verified factor with an unreadable updated_at still beats an unverified one.
    list.push({ ...phoneFactor('8613500135000', 'verified', 'soon') })
    expect(phoneOf(factors(list))).toBe('8613500135000')
  })

  it('refuses with 400 invalid_payload when there is no phone factor, never falling back to user.phone', async () => {
    for (const list of [
      [],
      [{ factor_type: 'totp', status: 'verified' }],
      undefined,
      'factors',
      { 0: phoneFactor('8613700137000', 'verified', '2026-08-10T12:00:00Z') },
    ]) {
      const parsed = parsePayload(factors(list as unknown[]))
      expect(parsed).toMatchObject({ ok: false, hasMetadata: false, refusal: { status: 400, code: 'invalid_payload' } })
    }
    const provider = new ScriptedProvider()
    const { app } = makeApp({ provider })
    expect((await app.request('/send-sms', signedPost(factors([])))).status).toBe(400)
    expect(provider.calls).toHaveLength(0)
  })

  it('an MFA challenge with an empty sms.phone still reads the factors', () => {
    expect(phoneOf(edit(fixtures.mfaV2173, (p) => (p.sms.phone = '')))).toBe('8613700137000')
  })
})

describe("each GoTrue version's payload shape: destination and OTP", () => {
  it('v2.146-v2.157 (sms.otp only): user.phone, no metadata, no time', () => {
    expect(parsedOf(fixtures.legacy)).toMatchObject({
      phone: '14155550123',
      otp: '118204',
      smsType: 'sms',
      hasMetadata: false,
      uuid: undefined,
      time: undefined,
      ip: undefined,
    })
  })

  it('v2.158-v2.179 (sms_type for MFA only): a non-MFA payload without sms_type, or with an empty one, is an SMS', () => {
    const withType = edit(fixtures.legacy, (p) => (p.sms.sms_type = ''))
    expect(parsedOf(withType)).toMatchObject({ phone: '14155550123', otp: '118204', smsType: 'sms' })
    expect(parsedOf(fixtures.mfaV2173)).toMatchObject({
      phone: '8613700137000',
      otp: '551207',
      smsType: 'mfa',
      hasMetadata: false,
    })
  })

  it('before v2.180, a reauthentication while a phone change is pending goes to user.new_phone', async () => {
    expect(parsedOf(fixtures.reauthPhoneChangeV2173)).toMatchObject({
      phone: '8613900139000',
      otp: '0048213377',
      smsType: 'sms',
      hasMetadata: false,
    })
    const message = await send(fixtures.reauthPhoneChangeV2173)
    expect(message).toMatchObject({ to: { e164: '8613900139000' }, otp: '0048213377', text: 'Your code is 0048213377' })
  })

  it('v2.180-v2.186 (sms.phone, no metadata): sms.phone wins over user.new_phone, user.phone and the factors', async () => {
    const phoneChange = edit(fixtures.phoneChange, (p) => delete p.metadata)
    expect(parsedOf(phoneChange)).toMatchObject({
      phone: '8613900139000',
      otp: '730155',
      hasMetadata: false,
      time: undefined,
    })
    // The challenged factor is the older of two verified ones: sms.phone says so, the heuristic would not.
    const message = await send(fixtures.mfaV2186, { GOTRUE_MFA_PHONE_TEMPLATE: 'MFA {{ .Code }}' })
    expect(message).toMatchObject({ to: { e164: '8613600136000' }, otp: '664318', smsType: 'mfa', text: 'MFA 664318' })
  })

  it('v2.187+ (metadata): uuid, time and address besides sms.phone', () => {
    expect(parsedOf(fixtures.mfa)).toMatchObject({
      phone: '8613700137000',
      otp: '902114',
      smsType: 'mfa',
      hasMetadata: true,
      uuid: '9f1c2a57-5a4b-4c1e-9d1e-0c7a1e2b3c4d',
      time: Date.UTC(2026, 7, 20, 10, 54, 52, 123),
      ip: '203.0.113.7',
    })
  })
})

describe('the log line of a refused payload', () => {
  /** The one line the refusal logged; `status` is 400 for a body without metadata, 200 + error object with it. */
  const refusedLine = async (body: string, status = 200) => {
    const provider = new ScriptedProvider()
    const { app, logs } = makeApp({ provider })
    const response = await app.request('/send-sms', signedPost(body, { id: 'msg_2kYq' }))
    expect(response.status).toBe(status)
    expect(provider.calls).toEqual([])
    const lines = logs.filter((l) => l.msg === 'hook payload refused')
    expect(lines).toHaveLength(1)
    return lines[0]!
  }
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

  it('names the call by its idempotency key and webhook-id, with the masked number, when the OTP is wrong', async () => {
    const { uuid, body } = signupPayload({ otp: 'abc' })
    expect(await refusedLine(body)).toMatchObject({
      level: 'warn',
      key: uuid,
      phone: '86138****8000',
      webhook_id: 'msg_2kYq',
      status: 400,
      reason: expect.stringContaining('sms.otp'),
    })
  })

  it('takes the key from the body when metadata has no uuid, as the hook would', async () => {
    const body = edit(signupPayload().body, (p) => {
      delete p.metadata.uuid
      p.sms.otp = 12
    })
    expect(await refusedLine(body)).toMatchObject({ key: sha256(body), phone: '86138****8000' })
  })

  it('names the destination a valid payload would have had: user.new_phone before user.phone', async () => {
    const body = edit(signupPayload().body, (p) => {
      delete p.sms.phone
      delete p.sms.otp
      p.user.new_phone = '8613900139000'
    })
    expect(await refusedLine(body)).toMatchObject({ phone: '86139****9000' })
  })

  it('has no phone field when the body names no number, and never the OTP', async () => {
    const { body, otp } = signupPayload({ phone: '' })
    const line = await refusedLine(body)
    expect(line).toMatchObject({ reason: expect.stringContaining('no phone number') })
    expect(line).not.toHaveProperty('phone')
    expect(JSON.stringify(line)).not.toContain(otp)
  })

  it('names the key of a number that does not normalise, masked', async () => {
    const { uuid, body, otp } = signupPayload({ phone: '12' })
    const line = await refusedLine(body)
    expect(line).toMatchObject({ key: uuid, phone: '****12', reason: 'invalid phone number' })
    expect(JSON.stringify(line)).not.toContain(otp)
  })

  it('names the key of a body that is no JSON', async () => {
    expect(await refusedLine('not json', 400)).toMatchObject({ key: sha256('not json'), reason: 'body is not JSON' })
  })
})
