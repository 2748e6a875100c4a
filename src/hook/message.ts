import type { Config } from '../config.js'
import type { SmsMessage } from '../providers/types.js'
import type { HookPayload } from './parse.js'

const PLACEHOLDER = /\{\{\s*\.(\w+)\s*\}\}/g

type Part = string | { name: string; whole: string }

/**
 * Compiles a template with GoTrue-style placeholders (`{{ .Code }}`, `{{ .ExpiryMinutes }}`), so templates copied
 * from GoTrue's `GOTRUE_SMS_TEMPLATE` read the same. Unknown placeholders are left as they are, to be visible in a
 * test SMS. Compiled once at start-up, so a request only joins strings.
 */
export const compileTemplate = (template: string): ((values: Record<string, string>) => string) => {
  const parts: Part[] = []
  let last = 0
  for (const match of template.matchAll(PLACEHOLDER)) {
    parts.push(template.slice(last, match.index), { name: match[1]!, whole: match[0] })
    last = match.index + match[0].length
  }
  parts.push(template.slice(last))
  return (values) => {
    let text = ''
    for (const part of parts) text += typeof part === 'string' ? part : (values[part.name] ?? part.whole)
    return text
  }
}

/** Minutes the OTP stays valid, at least 1, as templates say "valid for N minutes". */
export const expiryMinutes = (otpExpSeconds: number): number => Math.max(1, Math.ceil(otpExpSeconds / 60))

/** Builds the message for a verified payload: MFA challenges use GoTrue's MFA template. */
export const createMessageBuilder = (config: Config) => {
  const sms = compileTemplate(config.smsTemplate)
  const mfa = compileTemplate(config.mfaTemplate)
  const minutes = String(expiryMinutes(config.otpExpSeconds))
  return (payload: HookPayload, reference: string): SmsMessage => ({
    to: payload.to,
    otp: payload.otp,
    text: (payload.smsType === 'mfa' ? mfa : sms)({ Code: payload.otp, ExpiryMinutes: minutes }),
    smsType: payload.smsType,
    reference,
  })
}
