import { describe, expect, it } from 'vitest'
import { MAX_SCRUBBED_LENGTH, scrubText } from '../../src/providers/scrub.js'
import type { SmsMessage } from '../../src/providers/types.js'

const message: SmsMessage = {
  to: { e164: '8613800138000', callingCode: '86', national: '13800138000' },
  otp: '482913',
  text: 'Your code is 482913',
  smsType: 'sms',
  expiryMinutes: 5,
  reference: 'c0ffee',
}

describe('scrubText', () => {
  it('masks the number in its E.164 form, with or without +', () => {
    expect(scrubText('The To number +8613800138000 is not valid', message)).toBe(
      'The To number +86138****8000 is not valid',
    )
    expect(scrubText('to=8613800138000.', message)).toBe('to=86138****8000.')
  })

  it('masks the number in its national form', () => {
    expect(scrubText('手机号 13800138000 格式错误', message)).toBe('手机号 86138****8000 格式错误')
  })

  it('masks the number before the OTP, whose digits may be inside it', () => {
    const inside = { ...message, otp: '138000' }
    expect(scrubText('number 8613800138000, code 138000', inside)).toBe('number 86138****8000, code ******')
  })

  it('replaces the OTP wherever it occurs', () => {
    expect(scrubText('Body "Your code is 482913" rejected; 482913', message)).toBe(
      'Body "Your code is ******" rejected; ******',
    )
  })

  it('masks any other run of 7 or more digits, but not the digits of a vendor code or id', () => {
    expect(scrubText('recipient 447700900123 and +15005550006', message)).toBe(
      'recipient 4477****0123 and +150****0006',
    )
    expect(scrubText('template SMS_154950909, code 21211, isv.A1234567', message)).toBe(
      'template SMS_154950909, code 21211, isv.A1234567',
    )
  })

  it('removes URLs and query strings', () => {
    const text = 'see https://api.vendor.example/send?to=8613800138000&code=482913 or /v1/send?apikey=secret&x=1 now'
    const out = scrubText(text, message)
    expect(out).toBe('see <url> or /v1/send now')
  })

  it('does not echo JSON template parameters, nested or not', () => {
    expect(scrubText('bad TemplateParam {"code":"999111","extra":{"a":"b"}} given', message)).toBe(
      'bad TemplateParam <object> given',
    )
    expect(scrubText('TemplateParamSet ["999111","5"] does not match', message)).toBe(
      'TemplateParamSet <list> does not match',
    )
  })

  it('keeps plain brackets and braces', () => {
    expect(scrubText('field {name} [optional]', message)).toBe('field {name} [optional]')
  })

  it(`cuts to ${MAX_SCRUBBED_LENGTH} characters`, () => {
    const out = scrubText('x'.repeat(1000))
    expect(out).toHaveLength(MAX_SCRUBBED_LENGTH)
    expect(out.endsWith('…')).toBe(true)
    expect(scrubText('short')).toBe('short')
  })

  it('works without a message: long numbers and URLs still go', () => {
    expect(scrubText('connect ECONNREFUSED 127.0.0.1:2 for https://h/p?q=8613800138000')).toBe(
      'connect ECONNREFUSED 127.0.0.1:2 for <url>',
    )
    expect(scrubText('call 8613800138000')).toBe('call 86138****8000')
  })
})
