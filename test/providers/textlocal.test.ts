import { describe, expect, it } from 'vitest'
import { textlocal } from '../../src/providers/textlocal.js'
import { FAKE_TEXTLOCAL } from '../fakes/vendor-accounts.js'
import { describeProviderContract, sendWith } from './contract.js'
import { fakeUrl, script } from './fake.js'
import { failure, smsMessage } from './support.js'

const env = {
  GOTRUE_SMS_TEXTLOCAL_API_KEY: FAKE_TEXTLOCAL.apiKey,
  GOTRUE_SMS_TEXTLOCAL_SENDER: FAKE_TEXTLOCAL.sender,
  GOTRUE_SMS_TEXTLOCAL_ENDPOINT: fakeUrl('textlocal'),
}

describeProviderContract({
  vendor: 'textlocal',
  definition: textlocal,
  env,
  endpointVariable: 'GOTRUE_SMS_TEXTLOCAL_ENDPOINT',
  defaultEndpoint: 'https://api.textlocal.in',
  requiredVariables: ['GOTRUE_SMS_TEXTLOCAL_API_KEY', 'GOTRUE_SMS_TEXTLOCAL_SENDER'],
  wrongCredentials: { env: { GOTRUE_SMS_TEXTLOCAL_API_KEY: 'notTheKey' }, code: '3' },
  expectRequest(call, message, result) {
    expect(call.method).toBe('POST')
    expect(call.path).toBe('/send')
    expect(call.headers['content-type']).toBe('application/x-www-form-urlencoded')
    expect(call.params).toEqual({
      apikey: FAKE_TEXTLOCAL.apiKey,
      sender: FAKE_TEXTLOCAL.sender,
      numbers: message.to.e164,
      message: message.text,
    })
    expect(result.messageId).toMatch(/^\d+$/)
  },
  expectUnicode(call, message) {
    // Textlocal detects unicode itself; the text must arrive intact.
    expect(call.params.message).toBe(message.text)
  },
  errors: [
    { what: 'no valid numbers', answer: { error: 51 }, kind: 'recipient_invalid', code: '51' },
    { what: 'error 80', answer: { error: 80 }, kind: 'retryable', code: '80' },
    { what: 'invalid login details', answer: { error: 3 }, kind: 'configuration', code: '3' },
    { what: 'no recipients', answer: { error: 4 }, kind: 'configuration', code: '4' },
    { what: 'insufficient credits', answer: { error: 7 }, kind: 'configuration', code: '7' },
    { what: 'an invalid sender', answer: { error: 43 }, kind: 'configuration', code: '43' },
    { what: 'a code not listed', answer: { error: 192 }, kind: 'recipient_invalid', code: '192', unrecognised: true },
  ],
})

describe('textlocal provider, its own rules', () => {
  it('reads a success without a message id as outcome_unknown', async () => {
    const message = smsMessage()
    await script('textlocal', message.to.e164, { body: { status: 'success', messages: [] } })
    expect((await failure(sendWith(textlocal, env, message))).kind).toBe('outcome_unknown')
  })

  it('reads a failure with HTTP 500 and no code as retryable', async () => {
    const message = smsMessage()
    await script('textlocal', message.to.e164, { status: 500, body: { status: 'failure' } })
    expect((await failure(sendWith(textlocal, env, message))).kind).toBe('retryable')
  })
})
