/** What the routing and failover suites share: settings every provider accepts, providers that fail or send. */
import { inject } from 'vitest'
import type { Env } from '../../src/config/env.js'
import { ProviderError, type ProviderErrorKind } from '../../src/errors.js'
import type { SendResult } from '../../src/providers/types.js'
import { FAKE_ALIYUN } from '../fakes/aliyun-accounts.js'
import { FAKE_MESSAGEBIRD, FAKE_TENCENT, FAKE_TEXTLOCAL, FAKE_TWILIO, FAKE_VONAGE } from '../fakes/vendor-accounts.js'
import { ScriptedProvider } from './app.js'
import type { ManualClock } from './clock.js'

/**
 * Settings of a working account of every provider on the local fake endpoints, so that `SMS_HOOK_ROUTES` may
 * name any of them: the providers a test scripts are replaced, the others really call the fakes.
 */
export const vendorEnv = (): Env => {
  const urls = inject('vendorUrls')
  return {
    GOTRUE_SMS_ALIYUN_ACCESS_KEY_ID: FAKE_ALIYUN.accessKeyId,
    GOTRUE_SMS_ALIYUN_ACCESS_KEY_SECRET: FAKE_ALIYUN.accessKeySecret,
    GOTRUE_SMS_ALIYUN_SIGN_NAME: '阿里云短信测试',
    GOTRUE_SMS_ALIYUN_TEMPLATE_CODE: 'SMS_154950909',
    GOTRUE_SMS_ALIYUN_TRANSPORT: 'fetch',
    GOTRUE_SMS_ALIYUN_ENDPOINT: inject('aliyunUrl'),
    GOTRUE_SMS_TWILIO_ACCOUNT_SID: FAKE_TWILIO.accountSid,
    GOTRUE_SMS_TWILIO_AUTH_TOKEN: FAKE_TWILIO.authToken,
    GOTRUE_SMS_TWILIO_MESSAGE_SERVICE_SID: FAKE_TWILIO.from,
    GOTRUE_SMS_TWILIO_ENDPOINT: urls.twilio,
    GOTRUE_SMS_VONAGE_API_KEY: FAKE_VONAGE.apiKey,
    GOTRUE_SMS_VONAGE_API_SECRET: FAKE_VONAGE.apiSecret,
    GOTRUE_SMS_VONAGE_FROM: FAKE_VONAGE.from,
    GOTRUE_SMS_VONAGE_ENDPOINT: urls.vonage,
    GOTRUE_SMS_MESSAGEBIRD_ACCESS_KEY: FAKE_MESSAGEBIRD.accessKey,
    GOTRUE_SMS_MESSAGEBIRD_ORIGINATOR: FAKE_MESSAGEBIRD.originator,
    GOTRUE_SMS_MESSAGEBIRD_ENDPOINT: urls.messagebird,
    GOTRUE_SMS_TEXTLOCAL_API_KEY: FAKE_TEXTLOCAL.apiKey,
    GOTRUE_SMS_TEXTLOCAL_SENDER: FAKE_TEXTLOCAL.sender,
    GOTRUE_SMS_TEXTLOCAL_ENDPOINT: urls.textlocal,
    GOTRUE_SMS_TENCENT_SECRET_ID: FAKE_TENCENT.secretId,
    GOTRUE_SMS_TENCENT_SECRET_KEY: FAKE_TENCENT.secretKey,
    GOTRUE_SMS_TENCENT_SDK_APP_ID: FAKE_TENCENT.sdkAppId,
    GOTRUE_SMS_TENCENT_SIGN_NAME: FAKE_TENCENT.signName,
    GOTRUE_SMS_TENCENT_TEMPLATE_ID: '1110',
    GOTRUE_SMS_TENCENT_ENDPOINT: urls.tencent,
  }
}

/** A provider named `name` that fails every call with `kind` (the vendor's `code`), after `tookMs` on `clock`. */
export const failing = (
  name: string,
  kind: ProviderErrorKind,
  options: { code?: string; clock?: ManualClock; tookMs?: number } = {},
) =>
  new ScriptedProvider(async () => {
    options.clock?.advance(options.tookMs ?? 0)
    throw new ProviderError(kind, `scripted ${kind}`, { providerCode: options.code ?? `${name}-${kind}` })
  }, name)

/** A provider named `name` that sends every message, after `tookMs` on `clock`. */
export const working = (name: string, options: { clock?: ManualClock; tookMs?: number } = {}) =>
  new ScriptedProvider(async (message): Promise<SendResult> => {
    options.clock?.advance(options.tookMs ?? 0)
    return { messageId: `${name}-${message.reference}` }
  }, name)
