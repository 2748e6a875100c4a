import { describe, expect, it } from 'vitest'
import { systemClock } from '../../../src/clock.js'
import { parseConfig, type Env } from '../../../src/config/index.js'
import { MemoryInbox } from '../../../src/dev/inbox.js'
import { isConfigError } from '../../../src/errors.js'
import { createJsonLogger } from '../../../src/log.js'
import { parseAliyunConfig } from '../../../src/providers/aliyun/config.js'
import { aliyun } from '../../../src/providers/aliyun/index.js'
import { buildProviders, parseProviderConfig } from '../../../src/providers/registry.js'
import type { ProviderDeps } from '../../../src/providers/types.js'
import { smsMessage } from '../../support/payloads.js'
import { SECRET } from '../../support/sign.js'

const createProvider = (config: ReturnType<typeof parseProviderConfig>, deps: ProviderDeps) =>
  buildProviders([config], deps)[config.name]!
import { aliyunEnv, callsFor, uniqueMainlandPhone } from './fake.js'

const base: Env = {
  GOTRUE_SMS_PROVIDER: 'aliyun',
  GOTRUE_SMS_ALIYUN_ACCESS_KEY_ID: 'LTAI5tExample',
  GOTRUE_SMS_ALIYUN_ACCESS_KEY_SECRET: 'example-secret',
  GOTRUE_SMS_ALIYUN_SIGN_NAME: '阿里云短信测试',
  GOTRUE_SMS_ALIYUN_TEMPLATE_CODE: 'SMS_154950909',
}

/** The variable named by the start-up error, as the Node entry prints it. */
const refusedVariable = (env: Env) => {
  try {
    parseConfig({ GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, NODE_ENV: 'production', ...base, ...env })
  } catch (error) {
    if (isConfigError(error)) return error.variable
    throw error
  }
  return undefined
}

describe('aliyun settings', () => {
  it('reads the RDS Supabase variable names', () => {
    const config = parseAliyunConfig({ ...base, GOTRUE_SMS_ALIYUN_REGION_ID: 'cn-beijing', GOTRUE_SMS_OTP_EXP: '300' })
    expect(config).toMatchObject({
      route: 'sendSms',
      accessKeyId: 'LTAI5tExample',
      accessKeySecret: 'example-secret',
      regionId: 'cn-beijing',
      signName: '阿里云短信测试',
      templateCode: 'SMS_154950909',
      mfaTemplateCode: 'SMS_154950909',
      templateParam: { code: '{{ .Code }}' },
      transport: 'sdk',
      endpoints: { dysmsapi: 'https://dysmsapi.aliyuncs.com', dypnsapi: 'https://dypnsapi.aliyuncs.com' },
    })
  })

  it.each([
    ['GOTRUE_SMS_ALIYUN_ACCESS_KEY_ID', { GOTRUE_SMS_ALIYUN_ACCESS_KEY_ID: '' }],
    ['GOTRUE_SMS_ALIYUN_ACCESS_KEY_SECRET', { GOTRUE_SMS_ALIYUN_ACCESS_KEY_SECRET: ' ' }],
    ['GOTRUE_SMS_ALIYUN_SIGN_NAME', { GOTRUE_SMS_ALIYUN_SIGN_NAME: undefined }],
    ['GOTRUE_SMS_ALIYUN_TEMPLATE_CODE', { GOTRUE_SMS_ALIYUN_TEMPLATE_CODE: '' }],
    ['GOTRUE_SMS_ALIYUN_IS_TEST', { GOTRUE_SMS_ALIYUN_IS_TEST: 'maybe' }],
    ['GOTRUE_SMS_ALIYUN_REGION_ID', { GOTRUE_SMS_ALIYUN_REGION_ID: 'eu-west-1' }],
    ['GOTRUE_SMS_ALIYUN_ENDPOINT', { GOTRUE_SMS_ALIYUN_ENDPOINT: 'dysmsapi.aliyuncs.com' }],
    ['GOTRUE_SMS_ALIYUN_ENDPOINT', { GOTRUE_SMS_ALIYUN_ENDPOINT: 'https://dysmsapi.aliyuncs.com/sms' }],
    ['GOTRUE_SMS_ALIYUN_TRANSPORT', { GOTRUE_SMS_ALIYUN_TRANSPORT: 'http' }],
    ['SMS_HOOK_NATIONAL_NUMBERS', { SMS_HOOK_NATIONAL_NUMBERS: '44' }],
    ['GOTRUE_SMS_ALIYUN_TEMPLATE_PARAM', { GOTRUE_SMS_ALIYUN_TEMPLATE_PARAM: '{code: 1}' }],
    ['GOTRUE_SMS_ALIYUN_TEMPLATE_PARAM', { GOTRUE_SMS_ALIYUN_TEMPLATE_PARAM: '["{{ .Code }}"]' }],
    ['GOTRUE_SMS_ALIYUN_TEMPLATE_PARAM', { GOTRUE_SMS_ALIYUN_TEMPLATE_PARAM: '{"code":"{{ .Code }}","min":5}' }],
    ['GOTRUE_SMS_ALIYUN_TEMPLATE_PARAM', { GOTRUE_SMS_ALIYUN_TEMPLATE_PARAM: '{"name":"Acme"}' }],
  ])('stops at start-up naming %s when it is missing or wrong', (variable, env) => {
    expect(refusedVariable(env)).toBe(variable)
  })

  it('needs no sign name or template code on the test route', () => {
    const env = {
      GOTRUE_SMS_ALIYUN_IS_TEST: 'true',
      GOTRUE_SMS_ALIYUN_SIGN_NAME: '',
      GOTRUE_SMS_ALIYUN_TEMPLATE_CODE: '',
    }
    expect(refusedVariable(env)).toBeUndefined()
  })

  it.each([
    [undefined, 'https://dysmsapi.aliyuncs.com'],
    ['cn-hangzhou', 'https://dysmsapi.aliyuncs.com'],
    ['cn-beijing', 'https://dysmsapi.aliyuncs.com'],
    ['cn-hongkong', 'https://dysmsapi.aliyuncs.com'],
    ['ap-southeast-1', 'https://dysmsapi.ap-southeast-1.aliyuncs.com'],
    ['ap-southeast-5', 'https://dysmsapi.ap-southeast-5.aliyuncs.com'],
    ['eu-central-1', 'https://dysmsapi.eu-central-1.aliyuncs.com'],
    ['us-east-1', 'https://dysmsapi.us-east-1.aliyuncs.com'],
  ])('sends SendSms for region %s to %s, and the test route always to dypnsapi', (region, url) => {
    const config = parseAliyunConfig({ ...base, GOTRUE_SMS_ALIYUN_REGION_ID: region })
    expect(config.endpoints).toEqual({ dysmsapi: url, dypnsapi: 'https://dypnsapi.aliyuncs.com' })
  })

  it('lets GOTRUE_SMS_ALIYUN_ENDPOINT override both endpoints', () => {
    const config = parseAliyunConfig({
      ...base,
      GOTRUE_SMS_ALIYUN_ENDPOINT: 'https://dysmsapi-vpc.cn-shanghai.aliyuncs.com/',
    })
    expect(config.endpoints).toEqual({
      dysmsapi: 'https://dysmsapi-vpc.cn-shanghai.aliyuncs.com',
      dypnsapi: 'https://dysmsapi-vpc.cn-shanghai.aliyuncs.com',
    })
  })

  it('says at every start that the test route is on, and which configured sign name and template code it ignores', () => {
    const lines: Record<string, unknown>[] = []
    const logger = createJsonLogger({ level: 'info', write: (line) => lines.push(JSON.parse(line)) })
    const deps = { clock: systemClock, fetch: globalThis.fetch, logger, inbox: new MemoryInbox() }
    createProvider(parseProviderConfig({ ...base, GOTRUE_SMS_ALIYUN_IS_TEST: 'true' }, 'production'), deps)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({
      level: 'warn',
      ignored: ['GOTRUE_SMS_ALIYUN_SIGN_NAME', 'GOTRUE_SMS_ALIYUN_TEMPLATE_CODE'],
    })
    expect(lines[0]!.msg).toContain('速通互联验证码')

    const matching = { ...base, GOTRUE_SMS_ALIYUN_IS_TEST: 'true', GOTRUE_SMS_ALIYUN_SIGN_NAME: '速通互联验证码' }
    // The test route's own sign name and template: nothing is ignored, but the route is still said to be on.
    createProvider(parseProviderConfig({ ...matching, GOTRUE_SMS_ALIYUN_TEMPLATE_CODE: '100001' }, 'production'), deps)
    expect(lines).toHaveLength(2)
    expect(lines[1]).toMatchObject({ level: 'warn', ignored: [] })
    expect(lines[1]!.msg).toMatch(
      /GOTRUE_SMS_ALIYUN_IS_TEST is on: .*mainland China only; turn it off for production sign-ins/,
    )
    createProvider(parseProviderConfig({ ...base, GOTRUE_SMS_ALIYUN_IS_TEST: 'false' }, 'production'), deps)
    expect(lines).toHaveLength(2)

    const intl = {
      ...matching,
      GOTRUE_SMS_ALIYUN_TEMPLATE_CODE: '100001',
      GOTRUE_SMS_ALIYUN_INTL_TEMPLATE_CODE: 'SMS_INTL_1',
    }
    createProvider(parseProviderConfig(intl, 'production'), deps)
    expect(lines).toHaveLength(3)
    expect(lines[2]).toMatchObject({ level: 'warn', ignored: ['GOTRUE_SMS_ALIYUN_INTL_TEMPLATE_CODE'] })
  })

  it('uses the fetch transport where no SDK transport is supplied (Workers)', async () => {
    const deps = {
      clock: systemClock,
      fetch: globalThis.fetch,
      logger: createJsonLogger({ level: 'error' }),
      inbox: new MemoryInbox(),
    }
    const provider = createProvider(
      parseProviderConfig(aliyunEnv({ GOTRUE_SMS_ALIYUN_TRANSPORT: 'sdk' }), 'production'),
      deps,
    )
    const to = uniqueMainlandPhone()
    const reference = crypto.randomUUID()
    await provider.send(smsMessage({ to, reference }), {
      signal: AbortSignal.timeout(3000),
      deadline: Date.now() + 3000,
    })
    const [call] = await callsFor(reference)
    expect(call).toMatchObject({ signatureValid: true, userAgent: 'sms-hook' })
  })
})

describe('aliyun international settings', () => {
  it('opens the route abroad with GOTRUE_SMS_ALIYUN_INTL_TEMPLATE_CODE, with the mainland sign name by default', () => {
    expect(parseAliyunConfig(base)).toMatchObject({ route: 'sendSms', international: undefined })
    expect(parseAliyunConfig({ ...base, GOTRUE_SMS_ALIYUN_INTL_TEMPLATE_CODE: 'SMS_INTL_1' })).toMatchObject({
      international: { signName: '阿里云短信测试', templateCode: 'SMS_INTL_1', mfaTemplateCode: 'SMS_INTL_1' },
    })
    const all = {
      ...base,
      GOTRUE_SMS_ALIYUN_INTL_TEMPLATE_CODE: 'SMS_INTL_1',
      GOTRUE_SMS_ALIYUN_INTL_SIGN_NAME: 'Acme',
      GOTRUE_SMS_ALIYUN_INTL_MFA_TEMPLATE_CODE: 'SMS_INTL_2',
    }
    expect(parseAliyunConfig(all)).toMatchObject({
      international: { signName: 'Acme', templateCode: 'SMS_INTL_1', mfaTemplateCode: 'SMS_INTL_2' },
    })
  })

  it.each(['GOTRUE_SMS_ALIYUN_INTL_SIGN_NAME', 'GOTRUE_SMS_ALIYUN_INTL_MFA_TEMPLATE_CODE'])(
    'stops at start-up naming %s when it is set without an international template',
    (variable) => {
      expect(refusedVariable({ [variable]: 'x' })).toBe(variable)
    },
  )

  it('says the provider sends abroad only with an international template, never on the test route', () => {
    const sendsAbroad = (env: Env) => aliyun.sendsAbroad!(aliyun.parse({ ...base, ...env }))
    expect(sendsAbroad({})).toBe(false)
    expect(sendsAbroad({ GOTRUE_SMS_ALIYUN_INTL_TEMPLATE_CODE: 'SMS_INTL_1' })).toBe(true)
    expect(sendsAbroad({ GOTRUE_SMS_ALIYUN_IS_TEST: 'true', GOTRUE_SMS_ALIYUN_INTL_TEMPLATE_CODE: 'SMS_INTL_1' })).toBe(
      false,
    )
  })
})
