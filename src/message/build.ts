import type { Env } from '../config/env.js'
import { get, integer, type SettingDocs, type Settings } from '../config/settings.js'
import type { HookPayload } from '../hook/parse.js'
import {
  nationalNumbersFor,
  NATIONAL_NUMBERS,
  type NationalNumbers,
  type NationalNumbersSetting,
  type PhoneNumber,
} from '../phone/e164.js'
import type { SmsMessage } from '../providers/types.js'
import { compileTemplate, expiryMinutes } from './template.js'

/** The message settings as read, before the deployment's providers settle how bare numbers are read. */
export interface MessageSettings {
  smsTemplate: string
  mfaTemplate: string
  /** `GOTRUE_SMS_OTP_EXP`: how long the OTP is valid, in seconds. Read here only. */
  otpExpSeconds: number
  /** `SMS_HOOK_NATIONAL_NUMBERS` as written. */
  nationalNumbers: NationalNumbersSetting
}

/** How a message is written and where it goes. */
export interface MessageConfig extends Omit<MessageSettings, 'nationalNumbers'> {
  /** How bare numbers are read: `SMS_HOOK_NATIONAL_NUMBERS`, or its default for the deployment's providers. */
  nationalNumbers: NationalNumbers
  /** True when `nationalNumbers` is `86` by default (no provider sends abroad), for the start-up log to say so. */
  nationalNumbersDefaulted: boolean
}

export const DEFAULT_SMS_TEMPLATE = 'Your code is {{ .Code }}'

/** A message template, compiled once here so that a bad one stops start-up. */
const template = (value: string, name: string) => {
  compileTemplate(value, { variable: name, requireCode: true })
  return value
}

export const MESSAGE_SETTINGS = {
  GOTRUE_SMS_TEMPLATE: { parse: template, default: DEFAULT_SMS_TEMPLATE },
  GOTRUE_MFA_PHONE_TEMPLATE: { parse: template, default: DEFAULT_SMS_TEMPLATE },
  GOTRUE_SMS_OTP_EXP: { parse: integer({ min: 1, max: 86_400 }), default: '60' },
  SMS_HOOK_NATIONAL_NUMBERS: NATIONAL_NUMBERS,
} as const satisfies Settings

export const MESSAGE_SETTING_DOCS: SettingDocs<typeof MESSAGE_SETTINGS> = {
  GOTRUE_SMS_TEMPLATE:
    "GoTrue's SMS text ({{ .Code }}, {{ .ExpiryMinutes }}), for providers that send text rather than a template id.",
  GOTRUE_MFA_PHONE_TEMPLATE: "GoTrue's text for MFA phone challenges; GoTrue's default text when unset, like GoTrue.",
  GOTRUE_SMS_OTP_EXP:
    "GoTrue's OTP lifetime in seconds, shown to users as {{ .ExpiryMinutes }} and vendors' minute parameters.",
  SMS_HOOK_NATIONAL_NUMBERS:
    '86: a bare 11-digit 1[3-9] number is a mainland China mobile; none: every number is E.164. Default: 86 when no provider sends abroad.',
}

/** Reads the message settings. */
export const parseMessageConfig = (env: Env): MessageSettings => {
  const smsTemplate = get(env, MESSAGE_SETTINGS, 'GOTRUE_SMS_TEMPLATE')
  // GoTrue's own default for GOTRUE_MFA_PHONE_TEMPLATE is its default text, not GOTRUE_SMS_TEMPLATE (docs/gotrue-contract.md),
  // and the hook writes what GoTrue would. So the MFA text comes from that variable or the default, and only that
  // variable can be named in an error about it.
  const mfaTemplate = get(env, MESSAGE_SETTINGS, 'GOTRUE_MFA_PHONE_TEMPLATE')
  return {
    smsTemplate,
    mfaTemplate,
    otpExpSeconds: get(env, MESSAGE_SETTINGS, 'GOTRUE_SMS_OTP_EXP'),
    nationalNumbers: get(env, MESSAGE_SETTINGS, 'SMS_HOOK_NATIONAL_NUMBERS'),
  }
}

/**
 * The message settings for a deployment: `sendsAbroad` (whether any of its providers can send outside mainland
 * China) sets how bare numbers are read when SMS_HOOK_NATIONAL_NUMBERS is unset (`nationalNumbersFor`).
 */
export const messageConfigFor = (
  settings: MessageSettings,
  { sendsAbroad }: { sendsAbroad: boolean },
): MessageConfig => {
  const { nationalNumbers, defaulted } = nationalNumbersFor(settings.nationalNumbers, { sendsAbroad })
  return { ...settings, nationalNumbers, nationalNumbersDefaulted: defaulted }
}

/** Builds the message for a verified payload: MFA challenges use GoTrue's MFA template. */
export const createMessageBuilder = (
  config: Pick<MessageSettings, 'smsTemplate' | 'mfaTemplate' | 'otpExpSeconds'>,
) => {
  const sms = compileTemplate(config.smsTemplate, { variable: 'GOTRUE_SMS_TEMPLATE', requireCode: true })
  const mfa = compileTemplate(config.mfaTemplate, { variable: 'GOTRUE_MFA_PHONE_TEMPLATE', requireCode: true })
  const minutes = expiryMinutes(config.otpExpSeconds)
  const ExpiryMinutes = String(minutes)
  return (payload: HookPayload, to: PhoneNumber, reference: string): SmsMessage => ({
    to,
    otp: payload.otp,
    text: (payload.smsType === 'mfa' ? mfa : sms)({ Code: payload.otp, ExpiryMinutes }),
    smsType: payload.smsType,
    expiryMinutes: minutes,
    reference,
  })
}
