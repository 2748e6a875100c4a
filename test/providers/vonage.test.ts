import { describe, expect, it } from 'vitest'
import { systemClock } from '../../src/clock.js'
import type { Env } from '../../src/config/env.js'
import { parseDeliveryConfig } from '../../src/delivery/config.js'
import { receiptUrls } from '../../src/delivery/urls.js'
import { silentLogger } from '../../src/log.js'
import { vonage } from '../../src/providers/vonage.js'
import { FAKE_VONAGE } from '../fakes/vendor-accounts.js'
import { describeProviderContract, sendWith } from './contract.js'
import { callsFor, fakeUrl, script } from './fake.js'
import { boundFetch, failure, smsMessage } from './support.js'
import { sendWithDeps } from './with-deps.js'

const env = {
  GOTRUE_SMS_VONAGE_API_KEY: FAKE_VONAGE.apiKey,
  GOTRUE_SMS_VONAGE_API_SECRET: FAKE_VONAGE.apiSecret,
  GOTRUE_SMS_VONAGE_FROM: FAKE_VONAGE.from,
  GOTRUE_SMS_VONAGE_ENDPOINT: fakeUrl('vonage'),
}

describeProviderContract({
  vendor: 'vonage',
  definition: vonage,
  env,
  endpointVariable: 'GOTRUE_SMS_VONAGE_ENDPOINT',
  defaultEndpoint: 'https://rest.nexmo.com',
  requiredVariables: ['GOTRUE_SMS_VONAGE_API_KEY', 'GOTRUE_SMS_VONAGE_API_SECRET', 'GOTRUE_SMS_VONAGE_FROM'],
  wrongCredentials: { env: { GOTRUE_SMS_VONAGE_API_SECRET: 'notTheSecret' }, code: '4' },
  expectRequest(call, message, result) {
    expect(call.method).toBe('POST')
    expect(call.path).toBe('/sms/json')
    expect(call.headers['content-type']).toBe('application/x-www-form-urlencoded')
    expect(call.params).toEqual({
      api_key: FAKE_VONAGE.apiKey,
      api_secret: FAKE_VONAGE.apiSecret,
      from: FAKE_VONAGE.from,
      to: message.to.e164,
      text: message.text,
    })
    expect(result.messageId).toMatch(/^[0-9A-F]{18}$/)
  },
  expectUnicode(call, message) {
    expect(call.params).toMatchObject({ type: 'unicode', text: message.text })
  },
  errors: [
    { what: 'throttling', answer: { error: '1' }, kind: 'retryable', code: '1' },
    { what: 'an internal error', answer: { error: '5' }, kind: 'retryable', code: '5' },
    { what: 'an unroutable number', answer: { error: '6' }, kind: 'recipient_invalid', code: '6' },
    { what: 'a barred number', answer: { error: '15' }, kind: 'recipient_invalid', code: '15' },
    {
      what: 'an invalid to parameter',
      answer: { error: '3', detail: 'Invalid to param' },
      kind: 'recipient_invalid',
      code: '3',
    },
    {
      what: 'an invalid To Number',
      answer: { error: '3', detail: 'Invalid To Number' },
      kind: 'recipient_invalid',
      code: '3',
    },
    {
      what: 'another invalid parameter',
      answer: { error: '3', detail: 'Invalid from param' },
      kind: 'configuration',
      code: '3',
    },
    { what: 'a missing parameter', answer: { error: '2' }, kind: 'configuration', code: '2' },
    { what: 'bad credentials', answer: { error: '4' }, kind: 'configuration', code: '4' },
    { what: 'an exceeded quota', answer: { error: '9' }, kind: 'configuration', code: '9' },
    { what: 'a destination not whitelisted', answer: { error: '29' }, kind: 'configuration', code: '29' },
    { what: 'a barred number (7)', answer: { error: '7' }, kind: 'recipient_invalid', code: '7' },
    { what: 'a status not listed', answer: { error: '12' }, kind: 'recipient_invalid', code: '12', unrecognised: true },
  ],
})

describe('vonage provider, its own rules', () => {
  it('sends GSM text, the extension table included, without type', async () => {
    const message = smsMessage({ text: 'Code [482913] {valid} 5 min ~ €', otp: '482913' })
    await sendWith(vonage, env, message)
    const [call] = await callsFor('vonage', message.to.e164)
    expect(call!.params.type).toBeUndefined()
    expect(call!.params.text).toBe(message.text)
  })

  it('reads status 0 without a message-id as outcome_unknown', async () => {
    const message = smsMessage()
    await script('vonage', message.to.e164, { body: { 'message-count': '1', messages: [{ status: '0' }] } })
    expect((await failure(sendWith(vonage, env, message))).kind).toBe('outcome_unknown')
  })

  it("keeps Vonage's error-text, scrubbed", async () => {
    const message = smsMessage()
    await script('vonage', message.to.e164, { error: '3', detail: `Invalid To Number ${message.to.e164}` })
    const error = await failure(sendWith(vonage, env, message))
    expect(error.message).toMatch(/^Vonage answered HTTP 200, code 3: Invalid To Number \d{4}\*{4}\d{4}$/)
  })
})

describe('vonage provider, delivery receipts', () => {
  const TOKEN = 'receipts-token-0123456789'
  const receipts = (env: Env) => receiptUrls(parseDeliveryConfig(env))
  const configured = receipts({ SMS_HOOK_PUBLIC_URL: 'https://hook.example.com', SMS_HOOK_RECEIPTS_TOKEN: TOKEN })

  it('asks for the receipt at the token URL, with our reference as client-ref', async () => {
    const message = smsMessage()
    await sendWithDeps(vonage, env, message, { receiptUrl: configured })
    const [call] = await callsFor('vonage', message.to.e164)
    expect(call).toMatchObject({ accepted: true })
    expect(call!.params).toMatchObject({
      callback: `https://hook.example.com/receipts/vonage/${TOKEN}`,
      'client-ref': message.reference,
    })
  })

  it('asks for none without the public URL or the token, or with receipts off', async () => {
    for (const receiptUrl of [
      receipts({ SMS_HOOK_PUBLIC_URL: 'https://hook.example.com' }),
      receipts({ SMS_HOOK_RECEIPTS_TOKEN: TOKEN }),
      receipts({
        SMS_HOOK_PUBLIC_URL: 'https://hook.example.com',
        SMS_HOOK_RECEIPTS_TOKEN: TOKEN,
        SMS_HOOK_RECEIPTS: 'off',
      }),
    ]) {
      const message = smsMessage()
      await sendWithDeps(vonage, env, message, { receiptUrl })
      const [call] = await callsFor('vonage', message.to.e164)
      expect(call).toMatchObject({ accepted: true })
      expect(Object.keys(call!.params).sort()).toEqual(['api_key', 'api_secret', 'from', 'text', 'to'])
    }
  })

  it('leaves client-ref out for a reference longer than Vonage takes, and still asks for the receipt', async () => {
    const message = smsMessage({ reference: 'a'.repeat(64) })
    await sendWithDeps(vonage, env, message, { receiptUrl: configured })
    const [call] = await callsFor('vonage', message.to.e164)
    expect(call).toMatchObject({ accepted: true })
    expect(call!.params.callback).toBe(`https://hook.example.com/receipts/vonage/${TOKEN}`)
    expect(call!.params['client-ref']).toBeUndefined()
  })

  it('sends without a callback longer than 100 characters (Vonage refuses the message), and says so once', async () => {
    const warnings: string[] = []
    const logger = { ...silentLogger, warn: (msg: string) => void warnings.push(msg) }
    const long = receipts({
      SMS_HOOK_PUBLIC_URL: `https://${'h'.repeat(70)}.example.com`,
      SMS_HOOK_RECEIPTS_TOKEN: TOKEN,
    })
    const provider = vonage.create(vonage.parse(env), {
      clock: systemClock,
      fetch: boundFetch,
      logger,
      receiptUrl: long,
    })
    for (let i = 0; i < 2; i++) {
      const message = smsMessage()
      await provider.send(message, { signal: AbortSignal.timeout(3000), deadline: Date.now() + 3000 })
      const [call] = await callsFor('vonage', message.to.e164)
      expect(call).toMatchObject({ accepted: true })
      expect(call!.params.callback).toBeUndefined()
      expect(call!.params['client-ref']).toBeUndefined()
    }
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/at most 100 characters/)
  })

  it('is refused by Vonage (status 23) for a callback it cannot take, as the fake checks it', async () => {
    const message = smsMessage()
    const error = await failure(sendWithDeps(vonage, env, message, { receiptUrl: () => 'not a url' }))
    expect(error).toMatchObject({ providerCode: '23' })
  })
})
