import { describe, expect, it } from 'vitest'
import { isConfigError } from '../../src/errors.js'
import { compileTemplate, expiryMinutes } from '../../src/message/template.js'

const variableOf = (template: string, requireCode = true) => {
  try {
    compileTemplate(template, { variable: 'GOTRUE_SMS_TEMPLATE', requireCode })
  } catch (error) {
    if (isConfigError(error)) return error.message
    throw error
  }
  return undefined
}

describe('GoTrue-style templates', () => {
  it('fills {{ .Code }} and {{ .ExpiryMinutes }}, with or without spaces, as often as they appear', () => {
    const render = compileTemplate('{{.Code}} is your code, valid {{ .ExpiryMinutes }} min. Again: {{ .Code }}', {
      variable: 'GOTRUE_SMS_TEMPLATE',
    })
    expect(render({ Code: '482913', ExpiryMinutes: '5' })).toBe('482913 is your code, valid 5 min. Again: 482913')
  })

  it('keeps text around placeholders as it is, unicode included', () => {
    const render = compileTemplate('【Acme】验证码 {{ .Code }}，{{ .ExpiryMinutes }} 分钟内有效', { variable: 'X' })
    expect(render({ Code: '123456', ExpiryMinutes: '1' })).toBe('【Acme】验证码 123456，1 分钟内有效')
  })

  it.each([
    'Your code is {{ .Token }}',
    'Hi {{ .constructor }} {{ .Code }}',
    '{{ .__proto__ }}{{ .Code }}',
    '{{ .code }}',
  ])('refuses %j at start-up, naming the variable', (template) => {
    expect(variableOf(template)).toMatch(/^GOTRUE_SMS_TEMPLATE: uses \{\{ \./)
  })

  it('refuses a message template without {{ .Code }}, but not a vendor parameter', () => {
    expect(variableOf('Welcome to Acme')).toBe(
      'GOTRUE_SMS_TEMPLATE: must contain {{ .Code }}, or the SMS would carry no code',
    )
    expect(variableOf('{{ .ExpiryMinutes }}', false)).toBeUndefined()
  })

  it('rounds the OTP lifetime up to whole minutes, at least one', () => {
    expect([30, 60, 61, 300, 1].map(expiryMinutes)).toEqual([1, 1, 2, 5, 1])
  })
})
