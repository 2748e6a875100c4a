import { ProviderError } from '../../errors.js'
import type { Logger } from '../../log.js'
import { compileTemplate } from '../../message/template.js'
import { isMainlandMobile } from '../../phone/e164.js'
import {
  defineProvider,
  type Provider,
  type ProviderDeps,
  type SendOptions,
  type SendResult,
  type SmsMessage,
} from '../types.js'
import { failureOf, resultOf } from './classify.js'
import {
  ALIYUN_SETTINGS,
  parseAliyunConfig,
  TEST_SIGN_NAME,
  TEST_TEMPLATE_CODE,
  type AliyunConfig,
  type AliyunTestRoute,
} from './config.js'
import { createFetchTransport } from './fetch-transport.js'
import { querySendDetails } from './query.js'
import type { AliyunAnswer, AliyunRequest, AliyunTransportFactory } from './transport.js'

export type { AliyunConfig } from './config.js'
export type { AliyunTransport, AliyunTransportFactory } from './transport.js'

/**
 * The `aliyun` provider with a given way of reaching Alibaba Cloud for `GOTRUE_SMS_ALIYUN_TRANSPORT=sdk`. The
 * shared definition (`aliyun`) has only the fetch transport, which every runtime can run; the Node entry
 * defines it again with the official SDK (`node/providers.ts`), so Workers never load the SDK.
 */
export const aliyunWith = (sdkTransport?: AliyunTransportFactory) =>
  defineProvider({
    name: 'aliyun',
    settings: ALIYUN_SETTINGS,
    parse: parseAliyunConfig,
    sendsAbroad: (config) => config.route === 'sendSms' && config.international !== undefined,
    create: (config, deps) =>
      createAliyunProvider(
        config,
        deps,
        config.transport === 'sdk' && sdkTransport ? sdkTransport : createFetchTransport,
      ),
  })

export const aliyun = aliyunWith()

/**
 * Alibaba Cloud SMS: dysmsapi `SendSms` with the configured signature and template, or, with
 * `GOTRUE_SMS_ALIYUN_IS_TEST`, dypnsapi `SendSmsVerifyCode` with the free system test signature and template.
 * `OutId` carries the hook's idempotency key, so a delivery receipt can be traced to its hook call.
 *
 * Numbers: with a mainland template Aliyun reads `PhoneNumbers` as a mainland mobile, whether it is 11 digits
 * alone or after `+`, `+86`, `0086` or `86`; so `13125550123`, the E.164 digits of +1 312 555 0123, would reach a
 * phone in China. Only with an international template does it read country code + number. So a mainland mobile
 * goes as its 11 digits with the mainland signature and template, any other number as its E.164 digits with the
 * international ones only, and without an international template (`GOTRUE_SMS_ALIYUN_INTL_TEMPLATE_CODE`) it is
 * not taken (`reaches`: the route's next provider gets it, or the call is answered `no_route`), and refused
 * before any call, as `recipient_invalid`, should it be sent here anyway. The test
 * route (`SendSmsVerifyCode`: `PhoneNumber` with `CountryCode` 86) takes mainland mobiles only.
 */
const createAliyunProvider = (
  config: AliyunConfig,
  deps: ProviderDeps,
  transportFactory: AliyunTransportFactory = createFetchTransport,
): Provider => {
  const transport = transportFactory(config, deps)
  const requestFor = config.route === 'test' ? testRoute(config, deps.logger) : sendSmsRoute(config)
  return {
    name: 'aliyun',
    // dypnsapi, the test route's API, lists no sends: those wait for their receipt, or their TTL.
    ...(config.route === 'sendSms' ? { query: querySendDetails(transport, deps) } : {}),
    reaches: (to) =>
      isMainlandMobile(to) ||
      (config.route === 'sendSms' && config.international !== undefined && to.callingCode !== '86'),
    async send(message: SmsMessage, options: SendOptions): Promise<SendResult> {
      const request = requestFor(message)
      let answer: AliyunAnswer
      try {
        answer = await transport.call(request, options)
      } catch (error) {
        throw failureOf(error, message)
      }
      return resultOf(answer, message)
    },
  }
}

const sendSmsRoute = (config: Extract<AliyunConfig, { route: 'sendSms' }>) => {
  const params = Object.entries(config.templateParam).map(
    ([name, template]) => [name, compileTemplate(template, { variable: 'GOTRUE_SMS_ALIYUN_TEMPLATE_PARAM' })] as const,
  )
  const mainland = {
    signName: config.signName,
    templateCode: config.templateCode,
    mfaTemplateCode: config.mfaTemplateCode,
  }
  return (message: SmsMessage): AliyunRequest => {
    const { to } = message
    const abroad = !isMainlandMobile(to)
    if (abroad && to.callingCode === '86') {
      throw new ProviderError(
        'recipient_invalid',
        'a +86 number that is not a mainland China mobile: SMS reaches mobiles only',
      )
    }
    const sender = abroad ? config.international : mainland
    if (sender === undefined) {
      throw new ProviderError(
        'recipient_invalid',
        'a number outside mainland China: set GOTRUE_SMS_ALIYUN_INTL_TEMPLATE_CODE (an international template) to send there',
      )
    }
    const values = { Code: message.otp, ExpiryMinutes: String(message.expiryMinutes) }
    return {
      action: 'SendSms',
      phoneNumbers: abroad ? to.e164 : to.national,
      signName: sender.signName,
      templateCode: message.smsType === 'mfa' ? sender.mfaTemplateCode : sender.templateCode,
      templateParam: JSON.stringify(Object.fromEntries(params.map(([name, render]) => [name, render(values)]))),
      outId: message.reference,
    }
  }
}

const testRoute = (config: AliyunTestRoute, logger: Logger) => {
  warnIgnoredSettings(config, logger)
  return (message: SmsMessage): AliyunRequest => {
    if (!isMainlandMobile(message.to)) {
      throw new ProviderError(
        'recipient_invalid',
        'the test route (GOTRUE_SMS_ALIYUN_IS_TEST) reaches mainland China mobiles only; configure SendSms for other numbers',
      )
    }
    return {
      action: 'SendSmsVerifyCode',
      phoneNumber: message.to.national,
      countryCode: '86',
      signName: TEST_SIGN_NAME,
      templateCode: TEST_TEMPLATE_CODE,
      // A concrete code: `##code##` would make Aliyun invent its own, which GoTrue would never accept.
      templateParam: JSON.stringify({ code: message.otp, min: String(message.expiryMinutes) }),
      outId: message.reference,
    }
  }
}

/**
 * Said at every start, not only when a sign name is set: a production deployment left on the free test route
 * sends every user's code with Alibaba Cloud's test signature, to mainland China only. RDS Supabase ignores the
 * sign name and template code on this route; naming them says which settings have no effect.
 */
const warnIgnoredSettings = (config: AliyunTestRoute, logger: Logger) => {
  const ignored = [
    config.ignoredSignName !== undefined && config.ignoredSignName !== TEST_SIGN_NAME
      ? 'GOTRUE_SMS_ALIYUN_SIGN_NAME'
      : undefined,
    config.ignoredTemplateCode !== undefined && config.ignoredTemplateCode !== TEST_TEMPLATE_CODE
      ? 'GOTRUE_SMS_ALIYUN_TEMPLATE_CODE'
      : undefined,
    config.ignoredIntlTemplateCode !== undefined ? 'GOTRUE_SMS_ALIYUN_INTL_TEMPLATE_CODE' : undefined,
  ].filter((name) => name !== undefined)
  const verb = ignored.length > 1 ? 'are' : 'is'
  logger.warn(
    `GOTRUE_SMS_ALIYUN_IS_TEST is on: sending with the test signature ${TEST_SIGN_NAME} and template ` +
      `${TEST_TEMPLATE_CODE}, to mainland China only` +
      (ignored.length > 0 ? `; ${ignored.join(' and ')} ${verb} not used` : '; turn it off for production sign-ins'),
    { provider: 'aliyun', ignored },
  )
}
