import type { Config } from '../config.js'
import type { SmsMessage } from '../providers/types.js'
import type { HookPayload } from './parse.js'

/**
 * Fills GoTrue-style placeholders (`{{ .Code }}`, `{{ .ExpiryMinutes }}`), so templates copied from GoTrue's
 * `GOTRUE_SMS_TEMPLATE` read the same. Unknown placeholders are left as they are, to be visible in a test SMS.
 */
export const renderTemplate = (template: string, values: Record<string, string>): string =>
  template.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (whole, name: string) => values[name] ?? whole)

/** Minutes the OTP stays valid, at least 1, as templates say "valid for N minutes". */
export const expiryMinutes = (otpExpSeconds: number): number => Math.max(1, Math.ceil(otpExpSeconds / 60))

/** The message for a verified payload: MFA challenges use GoTrue's MFA template. */
export const buildMessage = (config: Config, payload: HookPayload, reference: string): SmsMessage => {
  const template = payload.smsType === 'mfa' ? config.mfaTemplate : config.smsTemplate
  return {
    to: payload.to,
    otp: payload.otp,
    text: renderTemplate(template, {
      Code: payload.otp,
      ExpiryMinutes: String(expiryMinutes(config.otpExpSeconds)),
    }),
    smsType: payload.smsType,
    reference,
  }
}
