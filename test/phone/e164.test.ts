import { describe, expect, it } from 'vitest'
import { isConfigError } from '../../src/errors.js'
import { isCallingCode } from '../../src/phone/calling-codes.js'
import { normalisePhone, parseNationalNumbers } from '../../src/phone/e164.js'

describe('phone numbers, normalised once before anything chooses a provider', () => {
  it.each([
    ['8613800138000', { e164: '8613800138000', callingCode: '86', national: '13800138000' }],
    ['+8613800138000', { e164: '8613800138000', callingCode: '86', national: '13800138000' }],
    ['14155550123', { e164: '14155550123', callingCode: '1', national: '4155550123' }],
    ['447700900123', { e164: '447700900123', callingCode: '44', national: '7700900123' }],
    ['85291234567', { e164: '85291234567', callingCode: '852', national: '91234567' }],
    ['79161234567', { e164: '79161234567', callingCode: '7', national: '9161234567' }],
    ['97150123456', { e164: '97150123456', callingCode: '971', national: '50123456' }],
  ])('reads %s with its calling code', (raw, expected) => {
    expect(normalisePhone(raw, undefined)).toEqual(expected)
  })

  it.each(['', 'abc', '0861380013800', '123456', '8613800138000123', '99912345678', '21012345678'])(
    'refuses %j: not a number any SMS can reach',
    (raw) => {
      expect(normalisePhone(raw, undefined)).toBeUndefined()
    },
  )

  it('reads a bare mainland mobile as +86 only with SMS_HOOK_NATIONAL_NUMBERS=86', () => {
    expect(normalisePhone('13800138000', '86')).toEqual({ e164: '8613800138000', callingCode: '86', national: '13800138000' })
    expect(normalisePhone('13800138000', undefined)?.callingCode).toBe('1')
    // Not a mainland mobile (12 is no mobile prefix): still E.164.
    expect(normalisePhone('12025550123', '86')?.callingCode).toBe('1')
    expect(normalisePhone('8613800138000', '86')?.e164).toBe('8613800138000')
  })

  it('accepts only 86 for SMS_HOOK_NATIONAL_NUMBERS, naming the variable otherwise', () => {
    expect(parseNationalNumbers({ SMS_HOOK_NATIONAL_NUMBERS: '86' })).toBe('86')
    expect(parseNationalNumbers({})).toBeUndefined()
    const error = (() => {
      try {
        parseNationalNumbers({ SMS_HOOK_NATIONAL_NUMBERS: '44' })
      } catch (e) {
        return e
      }
    })()
    expect(isConfigError(error) && error.variable).toBe('SMS_HOOK_NATIONAL_NUMBERS')
  })

  it('knows the calling codes in service, which are prefix-free', () => {
    expect(['1', '7', '86', '44', '852', '853', '886', '971'].every(isCallingCode)).toBe(true)
    expect(['8', '85', '999', '0'].some(isCallingCode)).toBe(false)
  })
})
