/**
 * Tencent Cloud SMS: `SendSms` of API version 2021-01-11, a JSON `POST /` signed TC3-HMAC-SHA256. Tencent sends
 * approved templates only, so the message text is not used: the OTP travels in `TemplateParamSet`. The hook's
 * idempotency key goes in `SessionContext`, which Tencent echoes in delivery receipts.
 *
 * Numbers: `PhoneNumberSet` takes `+` and E.164 digits, which Tencent reads as written; it also reads `0086`,
 * `86` or a bare 11-digit number as a mainland mobile, so the `+` is always sent. A number outside mainland China
 * needs an international template, and this provider has one template id (with the sign name only mainland
 * messages require): it counts as sending to mainland China only, for the default of SMS_HOOK_NATIONAL_NUMBERS.
 */
import type { Env } from '../../config/env.js'
import { anyText, endpoint, get, json, required, type SettingDocs, type Settings } from '../../config/settings.js'
import { ConfigError, type ProviderErrorKind } from '../../errors.js'
import { compileTemplate, type TemplateValues } from '../../message/template.js'
import { isRecord } from '../../record.js'
import { callVendor, kindOfAnswer, providerError, stringOf, type VendorAnswer } from '../http.js'
import { defineProvider, type SendResult, type SmsMessage } from '../types.js'
import { signTc3 } from './sign.js'

export interface TencentSettings {
  secretId: string
  secretKey: string
  sdkAppId: string
  signName: string
  templateId: string
  /** The template for MFA challenges; `templateId` when unset. */
  mfaTemplateId: string
  /** `TemplateParamSet`, compiled once: each entry renders one parameter of the template. */
  templateParams: ((values: TemplateValues) => string)[]
  region: string
  endpoint: string
}

const DEFAULT_TEMPLATE_PARAMS = '["{{ .Code }}"]'
const CONTENT_TYPE = 'application/json; charset=utf-8'
const VENDOR = 'Tencent Cloud'

/** The `tencent` provider's variables, named after the console's fields the way GoTrue names its providers'. */
export const TENCENT_SETTINGS = {
  GOTRUE_SMS_TENCENT_SECRET_ID: { parse: anyText },
  GOTRUE_SMS_TENCENT_SECRET_KEY: { parse: anyText, secret: true },
  GOTRUE_SMS_TENCENT_SDK_APP_ID: { parse: anyText },
  GOTRUE_SMS_TENCENT_SIGN_NAME: { parse: anyText },
  GOTRUE_SMS_TENCENT_TEMPLATE_ID: { parse: anyText },
  GOTRUE_SMS_TENCENT_MFA_TEMPLATE_ID: { parse: anyText },
  GOTRUE_SMS_TENCENT_TEMPLATE_PARAMS: {
    parse: (value, name) => parseTemplateParams(value, name),
    default: DEFAULT_TEMPLATE_PARAMS,
  },
  GOTRUE_SMS_TENCENT_REGION: { parse: anyText, default: 'ap-guangzhou' },
  GOTRUE_SMS_TENCENT_ENDPOINT: { parse: endpoint, default: 'https://sms.tencentcloudapi.com' },
} as const satisfies Settings

export const TENCENT_SETTING_DOCS: SettingDocs<typeof TENCENT_SETTINGS> = {
  GOTRUE_SMS_TENCENT_SECRET_ID: 'SecretId of a CAM API key (required).',
  GOTRUE_SMS_TENCENT_SECRET_KEY: 'Its SecretKey (required).',
  GOTRUE_SMS_TENCENT_SDK_APP_ID: 'SDK AppID of the SMS console, digits (required).',
  GOTRUE_SMS_TENCENT_SIGN_NAME: 'Approved signature (required).',
  GOTRUE_SMS_TENCENT_TEMPLATE_ID: 'Approved template ID (required).',
  GOTRUE_SMS_TENCENT_MFA_TEMPLATE_ID: 'Template for MFA challenges; the template ID when unset.',
  GOTRUE_SMS_TENCENT_TEMPLATE_PARAMS:
    'TemplateParamSet as a JSON array of strings with {{ .Code }}, {{ .ExpiryMinutes }}.',
  GOTRUE_SMS_TENCENT_REGION: 'API region.',
  GOTRUE_SMS_TENCENT_ENDPOINT: 'Base URL override (a proxy, a test server).',
}

/**
 * Exact codes (the vendor's API reference); `knownKind` adds the families known by their prefix. Any other code
 * is read as a destination refusal and logged at error (`kindOfAnswer`).
 */
const KINDS: Record<string, ProviderErrorKind> = {
  'InvalidParameterValue.IncorrectPhoneNumber': 'recipient_invalid',
  'FailedOperation.PhoneNumberInBlacklist': 'recipient_invalid', // the recipient opted out
  'LimitExceeded.DeliveryFrequencyLimit': 'rate_limited',
  // Tencent's own timeout: it may have handed the SMS to the carrier.
  'InternalError.Timeout': 'outcome_unknown',
  'FailedOperation.SignatureIncorrectOrUnapproved': 'configuration',
  'FailedOperation.TemplateIncorrectOrUnapproved': 'configuration',
  'FailedOperation.InsufficientBalanceInSmsPackage': 'configuration',
}

export const tencent = defineProvider<TencentSettings>({
  name: 'tencent',
  settings: TENCENT_SETTINGS,
  sendsAbroad: () => false,
  parse(env: Env): TencentSettings {
    const fromCam = 'is required (an API key of the CAM console)'
    const sdkAppId = required(
      env,
      TENCENT_SETTINGS,
      'GOTRUE_SMS_TENCENT_SDK_APP_ID',
      'is required (the SDK AppID of the SMS console)',
    )
    if (sdkAppId !== '' && !/^\d+$/.test(sdkAppId))
      throw new ConfigError('GOTRUE_SMS_TENCENT_SDK_APP_ID', 'must be digits, e.g. 1400006666')
    const templateId = required(
      env,
      TENCENT_SETTINGS,
      'GOTRUE_SMS_TENCENT_TEMPLATE_ID',
      'is required (an approved template of the SMS console)',
    )
    return {
      secretId: required(env, TENCENT_SETTINGS, 'GOTRUE_SMS_TENCENT_SECRET_ID', fromCam),
      secretKey: required(env, TENCENT_SETTINGS, 'GOTRUE_SMS_TENCENT_SECRET_KEY', fromCam),
      sdkAppId,
      signName: required(
        env,
        TENCENT_SETTINGS,
        'GOTRUE_SMS_TENCENT_SIGN_NAME',
        'is required (an approved signature of the SMS console)',
      ),
      templateId,
      mfaTemplateId: get(env, TENCENT_SETTINGS, 'GOTRUE_SMS_TENCENT_MFA_TEMPLATE_ID') ?? templateId,
      templateParams: get(env, TENCENT_SETTINGS, 'GOTRUE_SMS_TENCENT_TEMPLATE_PARAMS'),
      region: get(env, TENCENT_SETTINGS, 'GOTRUE_SMS_TENCENT_REGION'),
      endpoint: get(env, TENCENT_SETTINGS, 'GOTRUE_SMS_TENCENT_ENDPOINT'),
    }
  },
  create(settings, { fetch, clock }) {
    const url = `${settings.endpoint}/`
    const host = new URL(settings.endpoint).hostname
    return {
      name: 'tencent',
      settings: TENCENT_SETTINGS,
      async send(message, { signal }) {
        const values = { Code: message.otp, ExpiryMinutes: String(message.expiryMinutes) }
        const body = JSON.stringify({
          PhoneNumberSet: [`+${message.to.e164}`],
          SmsSdkAppId: settings.sdkAppId,
          SignName: settings.signName,
          TemplateId: message.smsType === 'mfa' ? settings.mfaTemplateId : settings.templateId,
          TemplateParamSet: settings.templateParams.map((render) => render(values)),
          SessionContext: message.reference,
        })
        const timestamp = Math.floor(clock.now() / 1000)
        const { authorization } = await signTc3(
          { service: 'sms', host, contentType: CONTENT_TYPE, body, timestamp },
          settings,
        )
        const headers = {
          authorization,
          'content-type': CONTENT_TYPE,
          'x-tc-action': 'SendSms',
          'x-tc-version': '2021-01-11',
          'x-tc-timestamp': String(timestamp),
          'x-tc-region': settings.region,
        }
        const answer = await callVendor(fetch, { vendor: VENDOR, url, headers, body, signal }, message)
        return resultOf(answer, message, clock.now())
      },
    }
  },
})

/**
 * `GOTRUE_SMS_TENCENT_TEMPLATE_PARAMS`: a JSON array of strings, one per template parameter, in order.
 * Compiled here so that a typo stops the service at start-up rather than reaching an SMS.
 */
const parseTemplateParams = (value: string, variable: string): ((values: TemplateValues) => string)[] => {
  const shape = 'must be a JSON array of strings, e.g. ["{{ .Code }}","{{ .ExpiryMinutes }}"]'
  const parsed = json(value, variable, shape)
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((v) => typeof v === 'string')) {
    throw new ConfigError(variable, shape)
  }
  const renders = parsed.map((template: string) => compileTemplate(template, { variable }))
  // Rendered with a marker for the code, so that what counts as `{{ .Code }}` is compileTemplate's own reading.
  const marker = '\u0000'
  if (!renders.some((render) => render({ Code: marker, ExpiryMinutes: '' }).includes(marker))) {
    throw new ConfigError(variable, 'must contain {{ .Code }} in one of its strings, or the SMS would carry no code')
  }
  return renders
}

/** The per-number `SendStatusSet[0]` decides when there is one; the request-level `Error` otherwise. */
const resultOf = (answer: VendorAnswer, message: SmsMessage, now: number): SendResult => {
  const response = isRecord(answer.json) && isRecord(answer.json.Response) ? answer.json.Response : {}
  const sent =
    Array.isArray(response.SendStatusSet) && isRecord(response.SendStatusSet[0]) ? response.SendStatusSet[0] : undefined
  const error = isRecord(response.Error) ? response.Error : undefined
  const code = stringOf(sent?.Code) ?? stringOf(error?.Code)
  const serialNo = stringOf(sent?.SerialNo)
  if (answer.status >= 200 && answer.status < 300 && code === 'Ok' && serialNo !== undefined) {
    return { messageId: serialNo }
  }
  const detail = stringOf(sent?.Message) ?? stringOf(error?.Message)
  const requestId = stringOf(response.RequestId)
  // `Ok` without its serial number is a success Tencent did not finish telling: no code to read.
  const failure = code === 'Ok' ? undefined : code
  const reading = {
    vendorJson: isRecord(answer.json) && isRecord(answer.json.Response),
    code: failure,
    known: knownKind(failure),
  }
  throw providerError(
    VENDOR,
    answer,
    { ...kindOfAnswer(answer.status, reading), code, detail, requestId },
    message,
    now,
  )
}

const knownKind = (code: string | undefined): ProviderErrorKind | undefined => {
  if (code === undefined) return undefined
  const exact = KINDS[code]
  if (exact !== undefined) return exact
  if (code.startsWith('LimitExceeded.PhoneNumber')) return 'rate_limited'
  if (code === 'InternalError' || code.startsWith('InternalError.') || code.startsWith('RequestLimitExceeded')) {
    return 'retryable'
  }
  if (code.startsWith('AuthFailure.') || code.startsWith('UnauthorizedOperation.')) return 'configuration'
  return undefined
}
