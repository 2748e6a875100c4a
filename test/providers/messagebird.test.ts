import { describe, expect, it } from 'vitest'
import type { Env } from '../../src/config/env.js'
import { parseDeliveryConfig } from '../../src/delivery/config.js'
import { receiptUrls } from '../../src/delivery/urls.js'
import { messagebird } from '../../src/providers/messagebird.js'
import { FAKE_MESSAGEBIRD } from '../fakes/vendor-accounts.js'
import { describeProviderContract, sendWith } from './contract.js'
import { callsFor, fakeUrl, script } from './fake.js'
import { failure, smsMessage } from './support.js'
import { sendWithDeps } from './with-deps.js'

const env = {
  GOTRUE_SMS_MESSAGEBIRD_ACCESS_KEY: FAKE_MESSAGEBIRD.accessKey,
  GOTRUE_SMS_MESSAGEBIRD_ORIGINATOR: FAKE_MESSAGEBIRD.originator,
  GOTRUE_SMS_MESSAGEBIRD_ENDPOINT: fakeUrl('messagebird'),
}

describeProviderContract({
  vendor: 'messagebird',
  definition: messagebird,
  env,
  endpointVariable: 'GOTRUE_SMS_MESSAGEBIRD_ENDPOINT',
  defaultEndpoint: 'https://rest.messagebird.com',
  requiredVariables: ['GOTRUE_SMS_MESSAGEBIRD_ACCESS_KEY', 'GOTRUE_SMS_MESSAGEBIRD_ORIGINATOR'],
  wrongCredentials: { env: { GOTRUE_SMS_MESSAGEBIRD_ACCESS_KEY: 'live_notTheKey' }, code: '2' },
  expectRequest(call, message, result) {
    expect(call.method).toBe('POST')
    expect(call.path).toBe('/messages')
    expect(call.headers['content-type']).toBe('application/json')
    expect(call.headers.authorization).toBe(`AccessKey ${FAKE_MESSAGEBIRD.accessKey}`)
    expect(call.params).toEqual({
      originator: FAKE_MESSAGEBIRD.originator,
      recipients: [message.to.e164],
      body: message.text,
      datacoding: 'plain',
    })
    expect(result.messageId).toMatch(/^[0-9a-f]{32}$/)
  },
  expectUnicode(call, message) {
    expect(call.params).toMatchObject({ datacoding: 'unicode', body: message.text })
  },
  errors: [
    { what: 'no correct recipients', answer: { error: 9 }, kind: 'recipient_invalid', code: '9' },
    { what: 'a wrong access key', answer: { error: 2 }, kind: 'configuration', code: '2' },
    { what: 'no balance', answer: { error: 25 }, kind: 'configuration', code: '25' },
    { what: 'an internal error with HTTP 500', answer: { error: 99, status: 500 }, kind: 'retryable', code: '99' },
    { what: 'throttling with HTTP 429', answer: { error: 98, status: 429 }, kind: 'retryable', code: '98' },
    {
      what: 'an unknown code with HTTP 422',
      answer: { error: 97 },
      kind: 'recipient_invalid',
      code: '97',
      unrecognised: true,
    },
    {
      what: 'an unknown code with HTTP 403',
      answer: { error: 97, status: 403 },
      kind: 'recipient_invalid',
      code: '97',
      unrecognised: true,
    },
  ],
})

describe('messagebird provider, its own rules', () => {
  it('reads code 9 on another parameter as configuration', async () => {
    const message = smsMessage()
    await script('messagebird', message.to.e164, {
      status: 422,
      body: { errors: [{ code: 9, description: 'originator is invalid', parameter: 'originator' }] },
    })
    const error = await failure(sendWith(messagebird, env, message))
    expect(error).toMatchObject({ kind: 'configuration', providerCode: '9' })
    expect(error.message).toMatch(/originator is invalid, parameter originator/)
  })

  it('sends the extension table as plain', async () => {
    const message = smsMessage({ text: 'Code {482913} €', otp: '482913' })
    await sendWith(messagebird, env, message)
    const [call] = await callsFor('messagebird', message.to.e164)
    expect(call!.params.datacoding).toBe('plain')
  })
})

describe('messagebird provider, delivery receipts', () => {
  const TOKEN = 'receipts-token-0123456789'
  const receipts = (env: Env) => receiptUrls(parseDeliveryConfig(env))

  it('asks for status reports at the token URL, with our reference (no report without one)', async () => {
    const message = smsMessage()
    await sendWithDeps(messagebird, env, message, {
      receiptUrl: receipts({ SMS_HOOK_PUBLIC_URL: 'https://hook.example.com', SMS_HOOK_RECEIPTS_TOKEN: TOKEN }),
    })
    const [call] = await callsFor('messagebird', message.to.e164)
    expect(call).toMatchObject({ accepted: true })
    expect(call!.params).toMatchObject({
      reportUrl: `https://hook.example.com/receipts/messagebird/${TOKEN}`,
      reference: message.reference,
    })
  })

  it('asks for none without the public URL or the token', async () => {
    for (const deps of [{ receiptUrl: receipts({ SMS_HOOK_PUBLIC_URL: 'https://hook.example.com' }) }, {}]) {
      const message = smsMessage()
      await sendWithDeps(messagebird, env, message, deps)
      const [call] = await callsFor('messagebird', message.to.e164)
      expect(call).toMatchObject({ accepted: true })
      expect(Object.keys(call!.params).sort()).toEqual(['body', 'datacoding', 'originator', 'recipients'])
    }
  })

  it('is refused by MessageBird (9, reportUrl) for a report URL that is not one, as the fake checks it', async () => {
    const message = smsMessage()
    const error = await failure(sendWithDeps(messagebird, env, message, { receiptUrl: () => 'nowhere' }))
    expect(error).toMatchObject({ kind: 'configuration', providerCode: '9' })
  })
})
