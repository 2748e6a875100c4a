import type { Env } from '../../config/env.js'
import {
  anyText,
  boolean,
  endpoint,
  get,
  isSet,
  json,
  oneOf,
  required,
  type SettingDocs,
  type Settings,
} from '../../config/settings.js'
import { compileTemplate } from '../../message/template.js'
import { ConfigError } from '../../errors.js'

/** The system test signature and template of the free test route (`GOTRUE_SMS_ALIYUN_IS_TEST`). */
export const TEST_SIGN_NAME = '速通互联验证码'
export const TEST_TEMPLATE_CODE = '100001'

/** Regions with their own SendSms endpoint; every `cn-*` region (Hong Kong too) uses the central one. */
const INTERNATIONAL_REGIONS = ['ap-southeast-1', 'ap-southeast-5', 'eu-central-1', 'us-east-1'] as const
const DEFAULT_TEMPLATE_PARAM = { code: '{{ .Code }}' }
export type AliyunTransportName = 'sdk' | 'fetch'

const secret = { parse: anyText, secret: true } as const
const plain = { parse: anyText } as const

/** The `aliyun` provider's settings, named as Alibaba Cloud RDS Supabase's Auth settings name them. */
export const ALIYUN_SETTINGS = {
  GOTRUE_SMS_ALIYUN_ACCESS_KEY_ID: plain,
  GOTRUE_SMS_ALIYUN_ACCESS_KEY_SECRET: secret,
  GOTRUE_SMS_ALIYUN_SECURITY_TOKEN: secret,
  GOTRUE_SMS_ALIYUN_SIGN_NAME: plain,
  GOTRUE_SMS_ALIYUN_TEMPLATE_CODE: plain,
  GOTRUE_SMS_ALIYUN_MFA_TEMPLATE_CODE: plain,
  GOTRUE_SMS_ALIYUN_TEMPLATE_PARAM: { parse: (value, name) => parseTemplateParam(value, name) },
  GOTRUE_SMS_ALIYUN_INTL_SIGN_NAME: plain,
  GOTRUE_SMS_ALIYUN_INTL_TEMPLATE_CODE: plain,
  GOTRUE_SMS_ALIYUN_INTL_MFA_TEMPLATE_CODE: plain,
  GOTRUE_SMS_ALIYUN_IS_TEST: { parse: boolean, default: 'false' },
  GOTRUE_SMS_ALIYUN_REGION_ID: { parse: anyText, default: 'cn-hangzhou' },
  GOTRUE_SMS_ALIYUN_ENDPOINT: { parse: endpoint },
  GOTRUE_SMS_ALIYUN_TRANSPORT: { parse: oneOf(['sdk', 'fetch'] as const), default: 'sdk' },
} as const satisfies Settings

export const ALIYUN_SETTING_DOCS: SettingDocs<typeof ALIYUN_SETTINGS> = {
  GOTRUE_SMS_ALIYUN_ACCESS_KEY_ID: 'AccessKey ID of a RAM user allowed to send SMS (required).',
  GOTRUE_SMS_ALIYUN_ACCESS_KEY_SECRET: 'Its AccessKey secret (required).',
  GOTRUE_SMS_ALIYUN_SECURITY_TOKEN: 'STS security token, for temporary credentials.',
  GOTRUE_SMS_ALIYUN_SIGN_NAME: 'Approved SMS signature (required for SendSms).',
  GOTRUE_SMS_ALIYUN_TEMPLATE_CODE: 'Approved template code, e.g. SMS_123456789 (required for SendSms).',
  GOTRUE_SMS_ALIYUN_MFA_TEMPLATE_CODE: 'Template for MFA challenges; the template code when unset.',
  GOTRUE_SMS_ALIYUN_TEMPLATE_PARAM:
    'TemplateParam as JSON with {{ .Code }} and {{ .ExpiryMinutes }}; {"code":"{{ .Code }}"} when unset.',
  GOTRUE_SMS_ALIYUN_INTL_SIGN_NAME: 'Signature for numbers outside mainland China; the mainland one when unset.',
  GOTRUE_SMS_ALIYUN_INTL_TEMPLATE_CODE: 'International template: without it only mainland China mobiles are sent to.',
  GOTRUE_SMS_ALIYUN_INTL_MFA_TEMPLATE_CODE: 'International template for MFA; the international template when unset.',
  GOTRUE_SMS_ALIYUN_IS_TEST:
    'true: the free test route (SendSmsVerifyCode, system signature and template, mainland mobiles only).',
  GOTRUE_SMS_ALIYUN_REGION_ID: 'Region: any cn-* region, or ap-southeast-1, ap-southeast-5, eu-central-1, us-east-1.',
  GOTRUE_SMS_ALIYUN_ENDPOINT: 'Base URL override for both APIs (a proxy, a test server).',
  GOTRUE_SMS_ALIYUN_TRANSPORT: 'sdk (the official SDK, Node only) or fetch (the built-in signer; always on Workers).',
}

/** What the two routes share. */
interface AliyunCommon {
  accessKeyId: string
  accessKeySecret: string
  securityToken: string | undefined
  regionId: string
  /** Which transport to use where both exist (Node); elsewhere only `fetch` does. */
  transport: AliyunTransportName
  /** Full base URLs, e.g. `https://dysmsapi.aliyuncs.com`; both the same when `GOTRUE_SMS_ALIYUN_ENDPOINT` is set. */
  endpoints: { dysmsapi: string; dypnsapi: string }
}

/** The free test route (`GOTRUE_SMS_ALIYUN_IS_TEST`): dypnsapi's system signature and template. */
export interface AliyunTestRoute extends AliyunCommon {
  route: 'test'
  /** Set but unused on this route; kept to warn about it at start-up. */
  ignoredSignName: string | undefined
  ignoredTemplateCode: string | undefined
  /** `GOTRUE_SMS_ALIYUN_INTL_TEMPLATE_CODE`, set but unused: this route reaches mainland China only. */
  ignoredIntlTemplateCode: string | undefined
}

/** dysmsapi `SendSms` with the account's own approved signature and template. */
export interface AliyunSendSmsRoute extends AliyunCommon {
  route: 'sendSms'
  signName: string
  templateCode: string
  /** `GOTRUE_SMS_ALIYUN_MFA_TEMPLATE_CODE`, for MFA challenges; `templateCode` when unset. */
  mfaTemplateCode: string
  /** `TemplateParam`, with `{{ .Code }}` and `{{ .ExpiryMinutes }}` still to fill in. */
  templateParam: Record<string, string>
  /**
   * The signature and templates approved for international messages (`GOTRUE_SMS_ALIYUN_INTL_*`), the only ones
   * with which Aliyun reads `PhoneNumbers` as country code + number. Undefined: numbers outside mainland China
   * are refused before any call.
   */
  international: AliyunInternational | undefined
}

export interface AliyunInternational {
  /** `GOTRUE_SMS_ALIYUN_INTL_SIGN_NAME`; the mainland signature when unset (SendSms always takes one). */
  signName: string
  templateCode: string
  /** `GOTRUE_SMS_ALIYUN_INTL_MFA_TEMPLATE_CODE`, for MFA challenges; `templateCode` when unset. */
  mfaTemplateCode: string
}

/** Settings of the `aliyun` provider, read from the variable names of Alibaba Cloud RDS Supabase's Auth settings. */
export type AliyunConfig = AliyunTestRoute | AliyunSendSmsRoute

/**
 * Reads the `aliyun` provider's variables and fails with a `ConfigError` naming the first wrong one, so a
 * mistake stops the service at start-up instead of failing each user's sign-in.
 */
export const parseAliyunConfig = (env: Env): AliyunConfig => {
  const isTest = get(env, ALIYUN_SETTINGS, 'GOTRUE_SMS_ALIYUN_IS_TEST')
  const missing = 'is required (copy it from the RDS Supabase Auth settings or the Alibaba Cloud RAM console)'
  const accessKeyId = required(env, ALIYUN_SETTINGS, 'GOTRUE_SMS_ALIYUN_ACCESS_KEY_ID', missing)
  const accessKeySecret = required(env, ALIYUN_SETTINGS, 'GOTRUE_SMS_ALIYUN_ACCESS_KEY_SECRET', missing)
  const regionId = get(env, ALIYUN_SETTINGS, 'GOTRUE_SMS_ALIYUN_REGION_ID')
  const override = get(env, ALIYUN_SETTINGS, 'GOTRUE_SMS_ALIYUN_ENDPOINT')
  const endpoints = override
    ? { dysmsapi: override, dypnsapi: override }
    : { dysmsapi: `https://${dysmsapiHost(regionId)}`, dypnsapi: 'https://dypnsapi.aliyuncs.com' }
  const common: AliyunCommon = {
    accessKeyId,
    accessKeySecret,
    securityToken: get(env, ALIYUN_SETTINGS, 'GOTRUE_SMS_ALIYUN_SECURITY_TOKEN'),
    regionId,
    transport: get(env, ALIYUN_SETTINGS, 'GOTRUE_SMS_ALIYUN_TRANSPORT'),
    endpoints,
  }
  if (isTest) {
    return {
      ...common,
      route: 'test',
      ignoredSignName: get(env, ALIYUN_SETTINGS, 'GOTRUE_SMS_ALIYUN_SIGN_NAME'),
      ignoredTemplateCode: get(env, ALIYUN_SETTINGS, 'GOTRUE_SMS_ALIYUN_TEMPLATE_CODE'),
      ignoredIntlTemplateCode: get(env, ALIYUN_SETTINGS, 'GOTRUE_SMS_ALIYUN_INTL_TEMPLATE_CODE'),
    }
  }
  const forSendSms = 'is required unless GOTRUE_SMS_ALIYUN_IS_TEST=true (the free test route)'
  const templateCode = required(env, ALIYUN_SETTINGS, 'GOTRUE_SMS_ALIYUN_TEMPLATE_CODE', forSendSms)
  const signName = required(env, ALIYUN_SETTINGS, 'GOTRUE_SMS_ALIYUN_SIGN_NAME', forSendSms)
  return {
    ...common,
    route: 'sendSms',
    signName,
    templateCode,
    mfaTemplateCode: get(env, ALIYUN_SETTINGS, 'GOTRUE_SMS_ALIYUN_MFA_TEMPLATE_CODE') ?? templateCode,
    templateParam: get(env, ALIYUN_SETTINGS, 'GOTRUE_SMS_ALIYUN_TEMPLATE_PARAM') ?? DEFAULT_TEMPLATE_PARAM,
    international: parseInternational(env, signName),
  }
}

/** The international template is what opens the route abroad; its sign name and MFA template only go with it. */
const parseInternational = (env: Env, signName: string): AliyunInternational | undefined => {
  const templateCode = get(env, ALIYUN_SETTINGS, 'GOTRUE_SMS_ALIYUN_INTL_TEMPLATE_CODE')
  if (templateCode === undefined) {
    for (const name of ['GOTRUE_SMS_ALIYUN_INTL_SIGN_NAME', 'GOTRUE_SMS_ALIYUN_INTL_MFA_TEMPLATE_CODE']) {
      if (isSet(env, name)) {
        throw new ConfigError(
          name,
          'is used only with GOTRUE_SMS_ALIYUN_INTL_TEMPLATE_CODE (an international template)',
        )
      }
    }
    return undefined
  }
  return {
    signName: get(env, ALIYUN_SETTINGS, 'GOTRUE_SMS_ALIYUN_INTL_SIGN_NAME') ?? signName,
    templateCode,
    mfaTemplateCode: get(env, ALIYUN_SETTINGS, 'GOTRUE_SMS_ALIYUN_INTL_MFA_TEMPLATE_CODE') ?? templateCode,
  }
}

/**
 * The SendSms host for a region. Resolved here rather than by the SDK, whose own region map sends some regions
 * (cn-beijing, cn-hongkong) to proxy hosts, so that both transports reach the same place.
 */
const dysmsapiHost = (regionId: string): string => {
  if (regionId.startsWith('cn-')) return 'dysmsapi.aliyuncs.com'
  if ((INTERNATIONAL_REGIONS as readonly string[]).includes(regionId)) return `dysmsapi.${regionId}.aliyuncs.com`
  throw new ConfigError(
    'GOTRUE_SMS_ALIYUN_REGION_ID',
    `has no SMS endpoint: use a cn-* region or one of ${INTERNATIONAL_REGIONS.join(', ')}, ` +
      `or set GOTRUE_SMS_ALIYUN_ENDPOINT; got "${regionId}"`,
  )
}

const parseTemplateParam = (value: string, variable: string): Record<string, string> => {
  const shape = 'must be a JSON object of strings, e.g. {"code":"{{ .Code }}","min":"{{ .ExpiryMinutes }}"}'
  const parsed = json(value, variable, shape)
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError(variable, shape)
  const entries = Object.entries(parsed)
  if (entries.length === 0 || entries.some(([, v]) => typeof v !== 'string')) throw new ConfigError(variable, shape)
  if (!entries.some(([, v]) => /\{\{\s*\.Code\s*\}\}/.test(v as string))) {
    throw new ConfigError(variable, 'must contain {{ .Code }} in one of its values, or the SMS would carry no code')
  }
  // Compiled here only to refuse unknown placeholders at start-up; the provider compiles them for use.
  for (const [, template] of entries) compileTemplate(template as string, { variable })
  return Object.fromEntries(entries) as Record<string, string>
}
