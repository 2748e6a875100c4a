import { boolean, oneOf, otpExpSeconds, required, text, type Env } from '../../config.js'
import { ConfigError } from '../../errors.js'

/** The system test signature and template of the free test route (`GOTRUE_SMS_ALIYUN_IS_TEST`). */
export const TEST_SIGN_NAME = '速通互联验证码'
export const TEST_TEMPLATE_CODE = '100001'

export const DEFAULT_REGION_ID = 'cn-hangzhou'
/** Regions with their own SendSms endpoint; every `cn-*` region (Hong Kong too) uses the central one. */
export const INTERNATIONAL_REGIONS = ['ap-southeast-1', 'ap-southeast-5', 'eu-central-1', 'us-east-1'] as const
export const DEFAULT_TEMPLATE_PARAM = { code: '{{ .Code }}' }
export const TRANSPORTS = ['sdk', 'fetch'] as const
export type AliyunTransportName = (typeof TRANSPORTS)[number]

/** Settings of the `aliyun` provider, read from the variable names of Alibaba Cloud RDS Supabase's Auth settings. */
export interface AliyunConfig {
  name: 'aliyun'
  accessKeyId: string
  accessKeySecret: string
  securityToken: string | undefined
  regionId: string
  /** Unused on the test route, which always sends with its system signature and template. */
  signName: string | undefined
  templateCode: string | undefined
  isTest: boolean
  /** `TemplateParam` for SendSms, with `{{ .Code }}` and `{{ .ExpiryMinutes }}` still to fill in. */
  templateParam: Record<string, string>
  otpExpSeconds: number
  /** `86` when the app stores Chinese mobiles without their country code. */
  nationalNumbers: '86' | undefined
  /** Which transport to use where both exist (Node); elsewhere only `fetch` does. */
  transport: AliyunTransportName
  /** Full base URLs, e.g. `https://dysmsapi.aliyuncs.com`; both the same when `GOTRUE_SMS_ALIYUN_ENDPOINT` is set. */
  endpoints: { dysmsapi: string; dypnsapi: string }
}

/**
 * Reads the `aliyun` provider's variables and fails with a `ConfigError` naming the first wrong one, so a
 * mistake stops the service at start-up instead of failing each user's sign-in.
 */
export const parseAliyunConfig = (env: Env): AliyunConfig => {
  const isTest = boolean(env, 'GOTRUE_SMS_ALIYUN_IS_TEST')
  const missing = 'is required (copy it from the RDS Supabase Auth settings or the Alibaba Cloud RAM console)'
  const accessKeyId = required(env, 'GOTRUE_SMS_ALIYUN_ACCESS_KEY_ID', missing)
  const accessKeySecret = required(env, 'GOTRUE_SMS_ALIYUN_ACCESS_KEY_SECRET', missing)
  const forSendSms = 'is required unless GOTRUE_SMS_ALIYUN_IS_TEST=true (the free test route)'
  const signName = isTest ? text(env, 'GOTRUE_SMS_ALIYUN_SIGN_NAME') : required(env, 'GOTRUE_SMS_ALIYUN_SIGN_NAME', forSendSms)
  const templateCode = isTest
    ? text(env, 'GOTRUE_SMS_ALIYUN_TEMPLATE_CODE')
    : required(env, 'GOTRUE_SMS_ALIYUN_TEMPLATE_CODE', forSendSms)
  const regionId = text(env, 'GOTRUE_SMS_ALIYUN_REGION_ID') ?? DEFAULT_REGION_ID
  const override = text(env, 'GOTRUE_SMS_ALIYUN_ENDPOINT')
  const endpoints = override
    ? { dysmsapi: parseEndpoint(override), dypnsapi: parseEndpoint(override) }
    : { dysmsapi: `https://${dysmsapiHost(regionId)}`, dypnsapi: 'https://dypnsapi.aliyuncs.com' }
  return {
    name: 'aliyun',
    accessKeyId,
    accessKeySecret,
    securityToken: text(env, 'GOTRUE_SMS_ALIYUN_SECURITY_TOKEN'),
    regionId,
    signName,
    templateCode,
    isTest,
    templateParam: parseTemplateParam(text(env, 'GOTRUE_SMS_ALIYUN_TEMPLATE_PARAM')),
    // The provider fills `{{ .ExpiryMinutes }}` in TemplateParam itself.
    otpExpSeconds: otpExpSeconds(env),
    nationalNumbers: parseNationalNumbers(text(env, 'SMS_HOOK_NATIONAL_NUMBERS')),
    transport: oneOf(env, 'GOTRUE_SMS_ALIYUN_TRANSPORT', TRANSPORTS, 'sdk'),
    endpoints,
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

/** Both transports sign the path `/`, so an endpoint is a scheme and a host, nothing more. */
const parseEndpoint = (value: string): string => {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError('GOTRUE_SMS_ALIYUN_ENDPOINT', `must be a full URL such as https://dysmsapi.aliyuncs.com, got "${value}"`)
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.pathname !== '/' || url.search || url.hash) {
    throw new ConfigError('GOTRUE_SMS_ALIYUN_ENDPOINT', `must be http(s)://host[:port] with no path, got "${value}"`)
  }
  return url.origin
}

/** Only China's rule (11 digits starting with 1[3-9]) can tell a national number from an E.164 one. */
const parseNationalNumbers = (value: string | undefined): '86' | undefined => {
  if (value === undefined || value === '86') return value
  throw new ConfigError('SMS_HOOK_NATIONAL_NUMBERS', `only 86 (mainland China mobiles stored without +86) is supported, got "${value}"`)
}

const parseTemplateParam = (value: string | undefined): Record<string, string> => {
  if (value === undefined) return DEFAULT_TEMPLATE_PARAM
  const variable = 'GOTRUE_SMS_ALIYUN_TEMPLATE_PARAM'
  const shape = 'must be a JSON object of strings, e.g. {"code":"{{ .Code }}","min":"{{ .ExpiryMinutes }}"}'
  let json: unknown
  try {
    json = JSON.parse(value)
  } catch {
    throw new ConfigError(variable, `is not valid JSON: ${shape}`)
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError(variable, shape)
  const entries = Object.entries(json)
  if (entries.length === 0 || entries.some(([, v]) => typeof v !== 'string')) throw new ConfigError(variable, shape)
  if (!entries.some(([, v]) => /\{\{\s*\.Code\s*\}\}/.test(v as string))) {
    throw new ConfigError(variable, 'must contain {{ .Code }} in one of its values, or the SMS would carry no code')
  }
  return Object.fromEntries(entries) as Record<string, string>
}
