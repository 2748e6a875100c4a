/** GoTrue payloads as GoTrue sends them (docs/gotrue-contract.md), and fresh variants with unique keys per test. */
import { randomUUID } from 'node:crypto'
import legacyRaw from '../fixtures/gotrue/legacy-v2.170.json?raw'
import mfaRaw from '../fixtures/gotrue/mfa-challenge.json?raw'
import mfaV2173Raw from '../fixtures/gotrue/mfa-challenge-v2.173.json?raw'
import mfaV2186Raw from '../fixtures/gotrue/mfa-challenge-v2.186.json?raw'
import phoneChangeRaw from '../fixtures/gotrue/phone-change.json?raw'
import reauthPhoneChangeV2173Raw from '../fixtures/gotrue/reauthentication-phone-change-v2.173.json?raw'
import signupRaw from '../fixtures/gotrue/signup.json?raw'
import { normalisePhone, type NationalNumbers } from '../../src/phone/e164.js'
import type { SmsMessage } from '../../src/providers/types.js'

export const fixtures = {
  signup: signupRaw.trimEnd(),
  phoneChange: phoneChangeRaw.trimEnd(),
  mfa: mfaRaw.trimEnd(),
  legacy: legacyRaw.trimEnd(),
  /** MFA before v2.180: no `metadata`, no `sms.phone`; the factor's number is only in `user.factors`. */
  mfaV2173: mfaV2173Raw.trimEnd(),
  /** MFA in v2.180-v2.186: `sms.phone` names the challenged factor, still no `metadata`. */
  mfaV2186: mfaV2186Raw.trimEnd(),
  /** Reauthentication before v2.180 while a phone change is pending: goes to `user.new_phone`. */
  reauthPhoneChangeV2173: reauthPhoneChangeV2173Raw.trimEnd(),
}

const FIXTURE_UUID = '9f1c2a57-5a4b-4c1e-9d1e-0c7a1e2b3c4d'

/** A fixture with a new `metadata.uuid` (v2.187+ payloads) so each test has its own idempotency key. */
export const fresh = (raw: string = fixtures.signup, uuid: string = randomUUID()) => ({
  uuid,
  body: raw.replace(FIXTURE_UUID, uuid),
})

/**
 * A signup payload for `phone` and `otp` from the end user at `ip`; `legacy` drops `metadata` and `sms.phone` as
 * GoTrue < 2.180 did. `time` is GoTrue's `metadata.time` (now by default): a test on a manual clock passes its
 * clock's time, since GoTrue's 5 s budget counts from it.
 */
export const signupPayload = (
  options: { phone?: string; otp?: string; legacy?: boolean; uuid?: string; ip?: string; time?: number } = {},
) => {
  const uuid = options.uuid ?? randomUUID()
  const phone = options.phone ?? '8613800138000'
  const otp = options.otp ?? String(100000 + Math.floor(Math.random() * 900000))
  const user = {
    id: randomUUID(),
    aud: 'authenticated',
    role: 'authenticated',
    email: '',
    phone,
    app_metadata: { provider: 'phone', providers: ['phone'] },
    user_metadata: {},
    identities: [],
    created_at: '2026-08-01T08:00:00Z',
    updated_at: '2026-08-20T10:54:52Z',
    is_anonymous: false,
  }
  const body = options.legacy
    ? JSON.stringify({ user, sms: { otp } })
    : JSON.stringify({
        metadata: {
          uuid,
          time: new Date(options.time ?? Date.now()).toISOString(),
          name: 'send-sms',
          ip_address: options.ip ?? '203.0.113.7',
        },
        user,
        sms: { otp, phone },
      })
  return { uuid, otp, phone, body }
}

/** A message as the core hands it to a provider, for provider-level tests. */
export const smsMessage = (
  fields: Partial<Omit<SmsMessage, 'to'>> & { to: string; national?: NationalNumbers },
): SmsMessage => {
  const { national, to, ...rest } = fields
  const phone = normalisePhone(to, national)
  if (phone === undefined) throw new Error(`not a phone number: ${to}`)
  return {
    otp: '123456',
    text: '',
    smsType: 'sms',
    expiryMinutes: 1,
    reference: crypto.randomUUID(),
    ...rest,
    to: phone,
  }
}
