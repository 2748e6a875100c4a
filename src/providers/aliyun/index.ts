import type { Clock } from '../../clock.js'
import { ProviderError } from '../../errors.js'
import { compileTemplate, expiryMinutes } from '../../hook/message.js'
import type { Logger } from '../../log.js'
import type { Provider, SendOptions, SendResult, SmsMessage } from '../types.js'
import { resultOf } from './classify.js'
import { TEST_SIGN_NAME, TEST_TEMPLATE_CODE, type AliyunConfig } from './config.js'
import { createFetchTransport } from './fetch-transport.js'
import type { AliyunRequest, AliyunTransportFactory } from './transport.js'

export { parseAliyunConfig, type AliyunConfig } from './config.js'
export type { AliyunTransport, AliyunTransportFactory } from './transport.js'

export interface AliyunProviderDeps {
  clock: Clock
  fetch: typeof fetch
  logger: Logger
  /**
   * The official SDK transport, which only Node can load; used when `config.transport` is `sdk`. Without it
   * (Workers) the fetch transport is used whatever the setting says.
   */
  aliyunSdkTransport?: AliyunTransportFactory
}

/**
 * Alibaba Cloud SMS: dysmsapi `SendSms` with the configured signature and template, or, with
 * `GOTRUE_SMS_ALIYUN_IS_TEST`, dypnsapi `SendSmsVerifyCode` with the free system test signature and template.
 * `OutId` carries the hook's idempotency key, so a delivery receipt can be traced to its hook call.
 */
export const createAliyunProvider = (config: AliyunConfig, deps: AliyunProviderDeps): Provider => {
  const factory = config.transport === 'sdk' && deps.aliyunSdkTransport ? deps.aliyunSdkTransport : createFetchTransport
  const transport = factory(config, deps)
  if (config.isTest) warnIgnoredSettings(config, deps.logger)
  const minutes = String(expiryMinutes(config.otpExpSeconds))
  const paramTemplates = Object.entries(config.templateParam).map(([name, template]) => [name, compileTemplate(template)] as const)

  const requestFor = (message: SmsMessage): AliyunRequest => {
    const number = aliyunNumber(message.to, config.nationalNumbers)
    if (config.isTest) {
      if (!number.mainland) {
        throw new ProviderError(
          'recipient_invalid',
          'the test route (GOTRUE_SMS_ALIYUN_IS_TEST) reaches mainland China mobiles only; configure SendSms for other numbers',
        )
      }
      return {
        action: 'SendSmsVerifyCode',
        phoneNumber: number.digits,
        countryCode: '86',
        signName: TEST_SIGN_NAME,
        templateCode: TEST_TEMPLATE_CODE,
        // A concrete code: `##code##` would make Aliyun invent its own, which GoTrue would never accept.
        templateParam: JSON.stringify({ code: message.otp, min: minutes }),
        outId: message.reference,
      }
    }
    const values = { Code: message.otp, ExpiryMinutes: minutes }
    const params = Object.fromEntries(paramTemplates.map(([name, render]) => [name, render(values)]))
    return {
      action: 'SendSms',
      phoneNumbers: number.digits,
      signName: config.signName!,
      templateCode: config.templateCode!,
      templateParam: JSON.stringify(params),
      outId: message.reference,
    }
  }

  return {
    name: 'aliyun',
    async send(message: SmsMessage, options: SendOptions): Promise<SendResult> {
      const answer = await transport.call(requestFor(message), options)
      return resultOf(answer, message.otp)
    },
  }
}

/**
 * How Aliyun wants a number: mainland mobiles as their 11 digits, every other number as country code + number.
 * `to` is E.164 without `+`, or with `SMS_HOOK_NATIONAL_NUMBERS=86` possibly a bare mainland mobile, which
 * is otherwise indistinguishable from a North American (+1) number.
 */
export const aliyunNumber = (to: string, nationalNumbers: '86' | undefined): { digits: string; mainland: boolean } => {
  if (/^861\d{10}$/.test(to)) return { digits: to.slice(2), mainland: true }
  if (nationalNumbers === '86' && /^1[3-9]\d{9}$/.test(to)) return { digits: to, mainland: true }
  return { digits: to, mainland: false }
}

/** RDS Supabase ignores the sign name and template code on the test route; say so rather than surprise. */
const warnIgnoredSettings = (config: AliyunConfig, logger: Logger) => {
  const ignored = [
    config.signName !== undefined && config.signName !== TEST_SIGN_NAME ? 'GOTRUE_SMS_ALIYUN_SIGN_NAME' : undefined,
    config.templateCode !== undefined && config.templateCode !== TEST_TEMPLATE_CODE
      ? 'GOTRUE_SMS_ALIYUN_TEMPLATE_CODE'
      : undefined,
  ].filter((name) => name !== undefined)
  if (ignored.length === 0) return
  const verb = ignored.length > 1 ? 'are' : 'is'
  logger.warn(
    `GOTRUE_SMS_ALIYUN_IS_TEST is on: sending with the test signature ${TEST_SIGN_NAME} and template ` +
      `${TEST_TEMPLATE_CODE}; ${ignored.join(' and ')} ${verb} not used`,
    { provider: 'aliyun', ignored },
  )
}
