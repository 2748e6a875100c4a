import { describe, expect, it } from 'vitest'
import type { Env } from '../../src/config/env.js'
import { parseDeliveryConfig } from '../../src/delivery/config.js'
import { receiptUrls } from '../../src/delivery/urls.js'
import { twilio } from '../../src/providers/twilio.js'
import { FAKE_TWILIO } from '../fakes/vendor-accounts.js'
import { describeProviderContract, refusedVariable, sendWith } from './contract.js'
import { callsFor, fakeUrl, script } from './fake.js'
import { failure, smsMessage } from './support.js'
import { sendWithDeps } from './with-deps.js'

const env = {
  GOTRUE_SMS_TWILIO_ACCOUNT_SID: FAKE_TWILIO.accountSid,
  GOTRUE_SMS_TWILIO_AUTH_TOKEN: FAKE_TWILIO.authToken,
  GOTRUE_SMS_TWILIO_MESSAGE_SERVICE_SID: FAKE_TWILIO.from,
  GOTRUE_SMS_TWILIO_ENDPOINT: fakeUrl('twilio'),
}

describeProviderContract({
  vendor: 'twilio',
  definition: twilio,
  env,
  endpointVariable: 'GOTRUE_SMS_TWILIO_ENDPOINT',
  defaultEndpoint: 'https://api.twilio.com',
  requiredVariables: [
    'GOTRUE_SMS_TWILIO_ACCOUNT_SID',
    'GOTRUE_SMS_TWILIO_AUTH_TOKEN',
    'GOTRUE_SMS_TWILIO_MESSAGE_SERVICE_SID',
  ],
  wrongCredentials: { env: { GOTRUE_SMS_TWILIO_AUTH_TOKEN: 'not-the-token' }, code: '20003' },
  expectRequest(call, message, result) {
    expect(call.method).toBe('POST')
    expect(call.path).toBe(`/2010-04-01/Accounts/${FAKE_TWILIO.accountSid}/Messages.json`)
    expect(call.headers['content-type']).toBe('application/x-www-form-urlencoded')
    expect(call.headers.authorization).toBe(`Basic ${btoa(`${FAKE_TWILIO.accountSid}:${FAKE_TWILIO.authToken}`)}`)
    expect(call.params).toEqual({ To: `+${message.to.e164}`, From: FAKE_TWILIO.from, Body: message.text })
    expect(result.messageId).toMatch(/^SM[0-9a-f]{32}$/)
  },
  expectUnicode(call, message) {
    // Twilio picks the encoding itself; the text must arrive intact.
    expect(call.params.Body).toBe(message.text)
  },
  requestId: /^RQ[0-9a-f]{32}$/,
  errors: [
    { what: 'an invalid To number', answer: { error: 21211 }, kind: 'recipient_invalid', code: '21211' },
    { what: 'a number that is not a mobile', answer: { error: 21614 }, kind: 'recipient_invalid', code: '21614' },
    { what: 'a recipient who opted out', answer: { error: 21610 }, kind: 'recipient_invalid', code: '21610' },
    { what: 'too many concurrent requests', answer: { error: 20429 }, kind: 'retryable', code: '20429' },
    { what: 'a number not reachable by SMS', answer: { error: 21612 }, kind: 'recipient_invalid', code: '21612' },
    {
      what: 'a region not enabled in geo permissions',
      answer: { error: 21408 },
      kind: 'recipient_invalid',
      code: '21408',
    },
    {
      what: 'a trial account and an unverified number',
      answer: { error: 21608 },
      kind: 'configuration',
      code: '21608',
    },
    { what: 'a From that cannot send there', answer: { error: 21606 }, kind: 'configuration', code: '21606' },
    { what: 'an account the path does not find', answer: { error: 20404 }, kind: 'configuration', code: '20404' },
    { what: 'a From that is not a Twilio number', answer: { error: 21659 }, kind: 'configuration', code: '21659' },
    {
      what: 'an unknown 4xx code',
      answer: { error: 21617 },
      kind: 'recipient_invalid',
      code: '21617',
      unrecognised: true,
    },
    {
      what: 'an unknown code with HTTP 401',
      answer: { error: 21617, status: 401 },
      kind: 'recipient_invalid',
      code: '21617',
      unrecognised: true,
    },
    { what: 'its own HTTP 503', answer: { error: 20503 }, kind: 'retryable', code: '20503' },
    { what: 'its own HTTP 500', answer: { error: 20500 }, kind: 'retryable', code: '20500' },
    {
      what: 'a known destination code with HTTP 503',
      answer: { error: 21408, status: 503 },
      kind: 'retryable',
      code: '21408',
    },
  ],
})

describe('twilio provider, its own rules', () => {
  it('sends a MG... sender as MessagingServiceSid rather than From', async () => {
    const message = smsMessage()
    await sendWith(twilio, { ...env, GOTRUE_SMS_TWILIO_MESSAGE_SERVICE_SID: FAKE_TWILIO.messagingServiceSid }, message)
    const [call] = await callsFor('twilio', message.to.e164)
    expect(call!.params).toEqual({
      To: `+${message.to.e164}`,
      MessagingServiceSid: FAKE_TWILIO.messagingServiceSid,
      Body: message.text,
    })
  })

  it('reads 429 with code 20429 as retryable with the Retry-After hint', async () => {
    const message = smsMessage()
    await script('twilio', message.to.e164, { error: 20429, headers: { 'retry-after': '1' } })
    const error = await failure(sendWith(twilio, env, message))
    expect(error).toMatchObject({ kind: 'retryable', providerCode: '20429', retryAfterMs: 1000 })
  })

  it('masks the number Twilio repeats in its error text', async () => {
    const message = smsMessage()
    await script('twilio', message.to.e164, { error: 21211 })
    const error = await failure(sendWith(twilio, env, message))
    expect(error.message).toMatch(
      /^Twilio answered HTTP 400, code 21211: The 'To' number \+\d{4}\*{4}\d{4} is not a valid phone number\.$/,
    )
  })

  it('names GOTRUE_SMS_TWILIO_ACCOUNT_SID when it is not an Account SID', () => {
    expect(
      refusedVariable(twilio, { ...env, GOTRUE_SMS_TWILIO_ACCOUNT_SID: 'SK0123456789abcdef0123456789abcdef' }),
    ).toBe('GOTRUE_SMS_TWILIO_ACCOUNT_SID')
  })
})

describe('twilio provider, delivery receipts', () => {
  const receipts = (env: Env) => receiptUrls(parseDeliveryConfig(env))

  it('asks for a status callback per message, carrying our reference, when SMS_HOOK_PUBLIC_URL is set', async () => {
    const message = smsMessage({ reference: 'd9c1e0f2-0000-4000-8000-00000000abcd' })
    await sendWithDeps(twilio, env, message, {
      receiptUrl: receipts({ SMS_HOOK_PUBLIC_URL: 'https://hook.example.com/' }),
    })
    const [call] = await callsFor('twilio', message.to.e164)
    expect(call).toMatchObject({ accepted: true })
    expect(call!.params.StatusCallback).toBe(
      'https://hook.example.com/receipts/twilio?ref=d9c1e0f2-0000-4000-8000-00000000abcd',
    )
  })

  it('asks for none without SMS_HOOK_PUBLIC_URL, with receipts off, or without a receiptUrl at all', async () => {
    for (const deps of [
      { receiptUrl: receipts({}) },
      { receiptUrl: receipts({ SMS_HOOK_PUBLIC_URL: 'https://hook.example.com', SMS_HOOK_RECEIPTS: 'off' }) },
      {},
    ]) {
      const message = smsMessage()
      await sendWithDeps(twilio, env, message, deps)
      const [call] = await callsFor('twilio', message.to.e164)
      expect(call).toMatchObject({ accepted: true })
      expect(call!.params).toEqual({ To: `+${message.to.e164}`, From: FAKE_TWILIO.from, Body: message.text })
    }
  })

  it('is refused by Twilio (21609) for a StatusCallback that is not an absolute URL, as the fake checks it', async () => {
    const message = smsMessage()
    const error = await failure(sendWithDeps(twilio, env, message, { receiptUrl: () => '/receipts/twilio' }))
    expect(error.providerCode).toBe('21609')
    const [call] = await callsFor('twilio', message.to.e164)
    expect(call).toMatchObject({ accepted: false, refusedWith: '21609' })
  })
})
