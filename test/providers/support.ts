/** What every provider suite shares: a message with a number no other test uses, and reading failures. */
import { expect } from 'vitest'
import { isProviderError, type ProviderError } from '../../src/errors.js'
import { maskPhone } from '../../src/log.js'
import type { SmsMessage } from '../../src/providers/types.js'

/** workerd, where a refused connection cannot be told from a reset (src/providers/http.ts). */
export const onWorkerd = typeof navigator !== 'undefined' && navigator.userAgent === 'Cloudflare-Workers'

/** `fetch` as a provider gets it: workerd's must be called with `this` bound to the global scope. */
export const boundFetch: typeof fetch = fetch.bind(globalThis)

const digits = (n: number) => String(Math.floor(Math.random() * 10 ** n)).padStart(n, '0')

/** A UK mobile (+44 7...) no other test uses, so fakes can key scripts and calls by it. */
export const uniqueNumber = (): SmsMessage['to'] => {
  const national = `77${digits(8)}`
  return { e164: `44${national}`, callingCode: '44', national }
}

export const smsMessage = (overrides: Partial<SmsMessage> = {}): SmsMessage => {
  const otp = overrides.otp ?? `9${digits(5)}`
  return {
    to: uniqueNumber(),
    otp,
    text: `Your code is ${otp}`,
    smsType: 'sms',
    expiryMinutes: 5,
    reference: crypto.randomUUID(),
    ...overrides,
  }
}

/** The `ProviderError` a promise rejects with; fails the test when it resolves or rejects with anything else. */
export const failure = async (promise: Promise<unknown>): Promise<ProviderError> => {
  const error = await promise.then(
    (value) => ({ resolved: value }),
    (e: unknown) => e,
  )
  if (!isProviderError(error))
    throw new Error(`expected a ProviderError, got ${JSON.stringify(error) ?? String(error)}`)
  return error
}

/** Nothing of the request in a text that is logged: no OTP, no number beyond its masked form, no URL or query. */
export const expectNothingFromRequest = (text: string, message: SmsMessage) => {
  expect(text).not.toContain(message.otp)
  // The national digits are a tail of the E.164 ones: neither form is left.
  expect(text).not.toContain(message.to.national)
  // Nor any other number standing alone (digits inside a word are ids, such as workerd's error references).
  expect(text.replaceAll(maskPhone(message.to.e164), '')).not.toMatch(/(?<![\w.])\+?\d{7,}(?!\w)/)
  expect(text).not.toContain('?')
  expect(text).not.toMatch(/https?:\/\//)
}
