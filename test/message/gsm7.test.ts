import { describe, expect, it } from 'vitest'
import { isGsm7 } from '../../src/message/gsm7.js'

describe('isGsm7', () => {
  it('accepts the basic set, accented letters and Greek capitals included', () => {
    expect(isGsm7('Your code is 482913')).toBe(true)
    expect(isGsm7('@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!"#¤%&\'()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà\n\r')).toBe(true)
  })

  it('accepts the extension table', () => {
    expect(isGsm7('{}[]~\\|^€\f')).toBe(true)
  })

  it('refuses what only unicode can carry', () => {
    for (const text of ['您的验证码是 482913', 'código ç', 'Код 1234', 'ê', '`', '😀', 'á', 'Ç ç']) {
      expect(isGsm7(text), text).toBe(false)
    }
  })

  it('refuses the escape character itself', () => {
    expect(isGsm7('\u001b')).toBe(false)
  })
})
