/**
 * What every Aliyun transport must do, checked against the fake Alibaba Cloud endpoint: the provider alone,
 * then end to end through `POST /send-sms`. `fetch.test.ts` and `sdk.test.ts` run it for each transport.
 */
import { describe, expect, inject, it } from 'vitest'
import { systemClock } from '../../../src/clock.js'
import type { Env } from '../../../src/config/index.js'
import { MemoryInbox } from '../../../src/dev/inbox.js'
import { isProviderError, type ProviderError, type ProviderErrorKind } from '../../../src/errors.js'
import { maskPhone, silentLogger } from '../../../src/log.js'
import { MESSAGES } from '../../../src/outcome.js'
import { aliyunWith, type AliyunTransportFactory } from '../../../src/providers/aliyun/index.js'
import type { SmsMessage } from '../../../src/providers/types.js'
import { FAKE_ALIYUN } from '../../fakes/aliyun-accounts.js'
import { makeApp } from '../../support/app.js'
import { signupPayload, smsMessage } from '../../support/payloads.js'
import { signedPost } from '../../support/sign.js'
import { FOREIGN_ANSWERS } from '../contract.js'
import { onWorkerd } from '../support.js'
import { aliyunEnv, callsFor, script, uniqueMainlandPhone, type FakeAnswer } from './fake.js'

/** `n` random digits, for numbers no other test uses. */
const digits = (n: number) => String(Math.floor(Math.random() * 10 ** n)).padStart(n, '0')

export const describeAliyunContract = (transport: 'fetch' | 'sdk', sdk?: AliyunTransportFactory) => {
  /** The SDK's user agent names Alibaba Cloud's runtime; ours is plain `sms-hook`. */
  const expectTransport = (userAgent: string | undefined) =>
    transport === 'sdk' ? expect(userAgent).toMatch(/AlibabaCloud.*sms-hook/) : expect(userAgent).toBe('sms-hook')

  /** The provider as the runtime defines it: Node gives it the SDK transport, Workers do not. */
  const definition = aliyunWith(sdk)

  const providerFor = (env: Env = {}) =>
    definition.create(definition.parse(aliyunEnv({ GOTRUE_SMS_ALIYUN_TRANSPORT: transport, ...env })), {
      clock: systemClock,
      fetch: globalThis.fetch,
      logger: silentLogger,
      inbox: new MemoryInbox(),
    })

  const message = (overrides: Partial<Parameters<typeof smsMessage>[0]> = {}): SmsMessage =>
    smsMessage({
      to: uniqueMainlandPhone(),
      otp: String(100000 + Math.floor(Math.random() * 900000)),
      text: 'unused by Aliyun',
      ...overrides,
    })

  const send = (env: Env, m: SmsMessage, budgetMs = 3000) =>
    providerFor(env).send(m, { signal: AbortSignal.timeout(budgetMs), deadline: Date.now() + budgetMs })

  const failure = async (promise: Promise<unknown>): Promise<ProviderError> => {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    )
    if (!isProviderError(error)) throw new Error(`expected a ProviderError, got ${String(error)}`)
    return error
  }

  describe(`aliyun provider over the ${transport} transport`, () => {
    it('sends one signed SendSms with the 11-digit mainland number, the OTP and the hook key as OutId', async () => {
      const m = message()
      const result = await send({}, m)
      const calls = await callsFor(m.reference)
      expect(calls).toHaveLength(1)
      const [call] = calls
      expect(call).toMatchObject({
        action: 'SendSms',
        version: '2017-05-25',
        signatureValid: true,
        accessKeyId: FAKE_ALIYUN.accessKeyId,
        answer: { status: 200, code: 'OK' },
      })
      expect(call!.params).toEqual({
        PhoneNumbers: m.to.national,
        SignName: '阿里云短信测试',
        TemplateCode: 'SMS_154950909',
        TemplateParam: JSON.stringify({ code: m.otp }),
        OutId: m.reference,
      })
      expect(call!.reached).toBe(`+${m.to.e164}`)
      expectTransport(call!.userAgent)
      expect(result.messageId).toMatch(/\^0$/)
    })

    describe('numbers outside mainland China', () => {
      const intl = {
        GOTRUE_SMS_ALIYUN_INTL_TEMPLATE_CODE: FAKE_ALIYUN.internationalTemplates[0],
        GOTRUE_SMS_ALIYUN_INTL_SIGN_NAME: 'Acme',
      }

      it.each([
        ['+44 7700 9xx xxx', () => `4477009${digits(5)}`],
        ['+1 312 555 xxxx, whose E.164 digits look like a mainland mobile', () => `1312555${digits(4)}`],
      ])('refuses %s before any call without an international template', async (_what, to) => {
        const m = message({ to: to() })
        const error = await failure(send({}, m))
        expect(error.kind).toBe('recipient_invalid')
        expect(error.message).toContain('GOTRUE_SMS_ALIYUN_INTL_TEMPLATE_CODE')
        expect(await callsFor(m.reference)).toHaveLength(0)
      })

      it('sends +1 312 555 xxxx as country code + number with the international signature and template', async () => {
        const m = message({ to: `1312555${digits(4)}` })
        await send(intl, m)
        const [call] = await callsFor(m.reference)
        expect(call!.params).toMatchObject({
          PhoneNumbers: m.to.e164,
          SignName: 'Acme',
          TemplateCode: intl.GOTRUE_SMS_ALIYUN_INTL_TEMPLATE_CODE,
        })
        expect(call).toMatchObject({ answer: { code: 'OK' }, reached: `+${m.to.e164}` })
      })

      it('uses GOTRUE_SMS_ALIYUN_INTL_MFA_TEMPLATE_CODE for MFA, and the mainland sign name when no international one is set', async () => {
        const m = message({ to: `4477009${digits(5)}`, smsType: 'mfa' })
        const mfa = FAKE_ALIYUN.internationalTemplates[1]
        await send(
          {
            GOTRUE_SMS_ALIYUN_INTL_TEMPLATE_CODE: intl.GOTRUE_SMS_ALIYUN_INTL_TEMPLATE_CODE,
            GOTRUE_SMS_ALIYUN_INTL_MFA_TEMPLATE_CODE: mfa,
          },
          m,
        )
        const [call] = await callsFor(m.reference)
        expect(call!.params).toMatchObject({ PhoneNumbers: m.to.e164, SignName: '阿里云短信测试', TemplateCode: mfa })
        expect(call!.reached).toBe(`+${m.to.e164}`)
      })

      it('keeps sending mainland mobiles as 11 digits with the mainland template when an international one is set', async () => {
        const m = message()
        await send(intl, m)
        const [call] = await callsFor(m.reference)
        expect(call!.params).toMatchObject({
          PhoneNumbers: m.to.national,
          SignName: '阿里云短信测试',
          TemplateCode: 'SMS_154950909',
        })
        expect(call!.reached).toBe(`+${m.to.e164}`)
      })

      it('refuses a +86 number that is no mobile before any call, with or without an international template', async () => {
        for (const env of [{}, intl]) {
          const m = message({ to: `86101234${digits(4)}` })
          expect((await failure(send(env, m))).kind).toBe('recipient_invalid')
          expect(await callsFor(m.reference)).toHaveLength(0)
        }
      })
    })

    it('fills GOTRUE_SMS_ALIYUN_TEMPLATE_PARAM with the code and the expiry in minutes', async () => {
      const m = message({ expiryMinutes: 5 })
      await send(
        {
          GOTRUE_SMS_ALIYUN_TEMPLATE_PARAM: '{"code":"{{ .Code }}","min":"{{ .ExpiryMinutes }}","product":"Acme 应用"}',
        },
        m,
      )
      const [call] = await callsFor(m.reference)
      expect(JSON.parse(call!.params.TemplateParam!)).toEqual({ code: m.otp, min: '5', product: 'Acme 应用' })
      expect(call!.signatureValid).toBe(true)
    })

    it('signs parameters with unicode, spaces, *, +, ~ and quotes', async () => {
      const m = message()
      await send({ GOTRUE_SMS_ALIYUN_SIGN_NAME: "速通 *+~'()! 签名", GOTRUE_SMS_ALIYUN_TEMPLATE_CODE: 'SMS_1+2 3' }, m)
      const [call] = await callsFor(m.reference)
      expect(call).toMatchObject({ signatureValid: true, answer: { code: 'OK' } })
      expect(call!.params).toMatchObject({ SignName: "速通 *+~'()! 签名", TemplateCode: 'SMS_1+2 3' })
    })

    it('signs and sends the STS security token', async () => {
      const m = message()
      await send(
        {
          GOTRUE_SMS_ALIYUN_ACCESS_KEY_ID: FAKE_ALIYUN.sts.accessKeyId,
          GOTRUE_SMS_ALIYUN_ACCESS_KEY_SECRET: FAKE_ALIYUN.sts.accessKeySecret,
          GOTRUE_SMS_ALIYUN_SECURITY_TOKEN: FAKE_ALIYUN.sts.securityToken,
        },
        m,
      )
      const [call] = await callsFor(m.reference)
      expect(call).toMatchObject({
        signatureValid: true,
        securityToken: FAKE_ALIYUN.sts.securityToken,
        answer: { code: 'OK' },
      })
    })

    describe('with GOTRUE_SMS_ALIYUN_IS_TEST', () => {
      const testRoute = { GOTRUE_SMS_ALIYUN_IS_TEST: 'true', GOTRUE_SMS_OTP_EXP: '60' }

      it('sends SendSmsVerifyCode with the system test signature and template and a concrete code', async () => {
        const m = message()
        const result = await send(testRoute, m)
        const calls = await callsFor(m.reference)
        expect(calls).toHaveLength(1)
        expect(calls[0]).toMatchObject({ action: 'SendSmsVerifyCode', version: '2017-05-25', signatureValid: true })
        expect(calls[0]!.params).toEqual({
          PhoneNumber: m.to.national,
          CountryCode: '86',
          SignName: '速通互联验证码',
          TemplateCode: '100001',
          TemplateParam: JSON.stringify({ code: m.otp, min: '1' }),
          OutId: m.reference,
        })
        expect(result.messageId).toMatch(/\^0$/)
      })

      it('refuses a number outside mainland China without calling Aliyun', async () => {
        const m = message({ to: '447700900123' })
        const error = await failure(send(testRoute, m))
        expect(error.kind).toBe('recipient_invalid')
        expect(error.message).toMatch(/mainland/)
        expect(await callsFor(m.reference)).toHaveLength(0)
      })

      it('refuses +1 312 555 xxxx, whose E.164 digits look like a mainland mobile, without calling Aliyun', async () => {
        const m = message({ to: `1312555${digits(4)}` })
        expect((await failure(send(testRoute, m))).kind).toBe('recipient_invalid')
        expect(await callsFor(m.reference)).toHaveLength(0)
      })

      it('reads a bare 11-digit 1[3-9] number as mainland only with SMS_HOOK_NATIONAL_NUMBERS=86', async () => {
        const national = uniqueMainlandPhone().slice(2)
        const first = message({ to: national, national: '86' })
        await send(testRoute, first)
        expect((await callsFor(first.reference))[0]!.params.PhoneNumber).toBe(national)

        const second = message({ to: national })
        expect((await failure(send(testRoute, second))).kind).toBe('recipient_invalid')
        expect(await callsFor(second.reference)).toHaveLength(0)
      })
    })

    const cases: [string, FakeAnswer, ProviderErrorKind, boolean?][] = [
      ['per-number flow control', { code: 'isv.BUSINESS_LIMIT_CONTROL', message: '触发号码天级流控' }, 'rate_limited'],
      ['the daily limit', { code: 'isv.DAY_LIMIT_CONTROL' }, 'rate_limited'],
      ['the monthly limit', { code: 'isv.MONTH_LIMIT_CONTROL' }, 'rate_limited'],
      ['an invalid number', { code: 'isv.MOBILE_NUMBER_ILLEGAL' }, 'recipient_invalid'],
      [
        'a domestic number on an international account',
        { code: 'isv.DOMESTIC_NUMBER_NOT_SUPPORTED' },
        'recipient_invalid',
      ],
      ['a template that is not approved', { code: 'isv.SMS_TEMPLATE_ILLEGAL' }, 'configuration'],
      ['a signature that is not approved', { code: 'isv.SMS_SIGNATURE_ILLEGAL' }, 'configuration'],
      ['an empty balance', { code: 'isv.AMOUNT_NOT_ENOUGH' }, 'configuration'],
      ['a source IP outside mainland China', { code: 'isv.DENY_IP_RANGE' }, 'configuration'],
      ['a RAM user without permission', { status: 403, code: 'isp.RAM_PERMISSION_DENY' }, 'configuration'],
      ['an unknown business code', { code: 'isv.SOMETHING_NEW' }, 'recipient_invalid', true],
      ['an unknown gateway code with HTTP 400', { status: 400, code: 'Something.New' }, 'recipient_invalid', true],
      ['a wrong secret', { code: 'SignatureDoesNotMatch' }, 'configuration'],
      ['an AccessKey id that is disabled', { code: 'InvalidAccessKeyId.Inactive' }, 'configuration'],
      ['an expired timestamp', { code: 'InvalidTimeStamp.Expired' }, 'configuration'],
      ['a product not activated', { code: 'isv.PRODUCT_UN_SUBSCRIPT' }, 'configuration'],
      ['an account in trouble', { code: 'isv.ACCOUNT_ABNORMAL' }, 'configuration'],
      ['a known code with HTTP 503', { status: 503, code: 'isv.MOBILE_NUMBER_ILLEGAL' }, 'retryable'],
      ['a system error', { code: 'isp.SYSTEM_ERROR' }, 'retryable'],
      ['HTTP 503', { status: 503, code: 'ServiceUnavailable' }, 'retryable'],
      ['HTTP 500', { status: 500, code: 'InternalError' }, 'retryable'],
    ]
    for (const [what, answer, kind, unrecognised = false] of cases) {
      const reading = unrecognised ? `${kind}, unrecognised` : kind
      it(`reads ${what} (${answer.code}) as ${reading}, with Aliyun's code and request id`, async () => {
        const m = message()
        await script(m.reference, answer)
        const error = await failure(send({}, m))
        expect(error.kind).toBe(kind)
        expect(error.unrecognised).toBe(unrecognised)
        expect(error.providerCode).toBe(answer.code)
        expect(error.requestId).toMatch(/^[0-9A-F-]{36}$/)
        expect(await callsFor(m.reference)).toHaveLength(1)
      })
    }

    it('reads HTTP 400 Throttling.User as retryable with the x-acs-retry-after hint', async () => {
      const m = message()
      await script(m.reference, { status: 400, code: 'Throttling.User', headers: { 'x-acs-retry-after': '250' } })
      const error = await failure(send({}, m))
      expect(error).toMatchObject({ kind: 'retryable', providerCode: 'Throttling.User', retryAfterMs: 250 })
    })

    // The table every provider reads (test/providers/contract.ts); Aliyun reads all of it as outcome unknown.
    for (const { what, answer } of FOREIGN_ANSWERS) {
      it(`reads ${what} as outcome_unknown: something in between answered, Aliyun may have the request`, async () => {
        const m = message()
        await script(m.reference, {
          status: answer.status,
          raw: answer.raw,
          ...(answer.headers ? { headers: answer.headers } : {}),
        })
        const error = await failure(send({}, m))
        expect(error.kind).toBe('outcome_unknown')
        expect(error.providerCode).toBeUndefined()
        expect(error.message).toMatch(/without Alibaba Cloud's JSON/)
        expect(await callsFor(m.reference)).toHaveLength(1)
      })
    }

    it('keeps the OTP out of the error message even when Aliyun repeats it', async () => {
      const m = message()
      await script(m.reference, { code: 'isv.TEMPLATE_MISSING_PARAMETERS', message: `bad param {"code":"${m.otp}"}` })
      const error = await failure(send({}, m))
      expect(error.kind).toBe('configuration')
      expect(error.message).not.toContain(m.otp)
    })

    it('answers SignatureDoesNotMatch to a wrong secret, read as configuration', async () => {
      const m = message()
      const error = await failure(send({ GOTRUE_SMS_ALIYUN_ACCESS_KEY_SECRET: 'not-the-secret' }, m))
      expect(error).toMatchObject({ kind: 'configuration', providerCode: 'SignatureDoesNotMatch' })
      const [call] = await callsFor(m.reference)
      expect(call).toMatchObject({ signatureValid: false, answer: { status: 400, code: 'SignatureDoesNotMatch' } })
    })

    it('reads an unknown AccessKey id as configuration', async () => {
      const error = await failure(send({ GOTRUE_SMS_ALIYUN_ACCESS_KEY_ID: 'LTAI-unknown' }, message()))
      expect(error).toMatchObject({ kind: 'configuration', providerCode: 'InvalidAccessKeyId.NotFound' })
    })

    it('reads a gateway that never answers as outcome_unknown, by the deadline', async () => {
      const m = message()
      await script(m.reference, { hang: true })
      const error = await failure(send({}, m, 400))
      expect(error.kind).toBe('outcome_unknown')
      expect(await callsFor(m.reference)).toHaveLength(1)
    })
  })

  describe(`POST /send-sms with aliyun over the ${transport} transport`, () => {
    // These cases tell the gateway's answers apart by the hook's answer, so an outcome that may have sent is
    // answered 504 here (SMS_HOOK_UNKNOWN_OUTCOME=error); its default answer, success, is pinned in test/hook.
    const appFor = (env: Env = {}) =>
      makeApp({
        env: aliyunEnv({ GOTRUE_SMS_ALIYUN_TRANSPORT: transport, SMS_HOOK_UNKNOWN_OUTCOME: 'error', ...env }),
        definitions: [definition],
      })

    const post = async (app: ReturnType<typeof makeApp>['app'], body: string) =>
      app.request('/send-sms', signedPost(body))

    it('sends exactly one SMS per hook call, however often GoTrue repeats it', async () => {
      const { app, logs } = appFor()
      const payload = signupPayload({ phone: uniqueMainlandPhone() })
      for (let i = 0; i < 3; i++) {
        const response = await post(app, payload.body)
        expect(response.status).toBe(200)
        expect(await response.json()).toEqual({})
      }
      const calls = await callsFor(payload.phone.slice(2))
      expect(calls).toHaveLength(1)
      expect(calls[0]).toMatchObject({ signatureValid: true, params: { OutId: payload.uuid } })
      expect(JSON.parse(calls[0]!.params.TemplateParam!)).toEqual({ code: payload.otp })
      expectTransport(calls[0]!.userAgent)
      expect(JSON.stringify(logs)).not.toContain(payload.otp)
    })

    it('uses the SHA-256 of the body as OutId for GoTrue before v2.187', async () => {
      const { app } = appFor()
      const payload = signupPayload({ phone: uniqueMainlandPhone(), legacy: true })
      expect((await post(app, payload.body)).status).toBe(200)
      expect((await post(app, payload.body)).status).toBe(200)
      const calls = await callsFor(payload.phone.slice(2))
      expect(calls).toHaveLength(1)
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(payload.body)))
      expect(calls[0]!.params.OutId).toBe(Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join(''))
    })

    it('sends SendSmsVerifyCode on the test route and refuses other countries with 400', async () => {
      const { app } = appFor({ GOTRUE_SMS_ALIYUN_IS_TEST: 'true' })
      const mainland = signupPayload({ phone: uniqueMainlandPhone() })
      expect((await post(app, mainland.body)).status).toBe(200)
      const calls = await callsFor(mainland.phone.slice(2))
      expect(calls).toHaveLength(1)
      expect(calls[0]).toMatchObject({ action: 'SendSmsVerifyCode', params: { OutId: mainland.uuid } })

      const abroad = signupPayload({
        phone: `4477009${String(Math.floor(Math.random() * 1e5)).padStart(5, '0')}`,
        legacy: true,
      })
      const response = await post(app, abroad.body)
      // Passed over before any call: no provider of the route reaches it.
      expect(response.status).toBe(400)
      expect(await response.json()).toEqual({ error: { http_code: 400, message: MESSAGES.noRoute } })
      expect(await callsFor(abroad.phone)).toHaveLength(0)
    })

    describe('one reading of a number for the guard, the routes and Aliyun', () => {
      const intl = { GOTRUE_SMS_ALIYUN_INTL_TEMPLATE_CODE: FAKE_ALIYUN.internationalTemplates[0] }
      const errorOf = async (response: Response) =>
        ((await response.json()) as { error?: { http_code: number; message: string } }).error

      it('reads a bare 11-digit mainland mobile as +86 when Aliyun sends to mainland China only, and sends it', async () => {
        const { app } = appFor()
        const payload = signupPayload({ phone: `139${digits(8)}` })
        expect(await errorOf(await post(app, payload.body))).toBeUndefined()
        const [call] = await callsFor(payload.uuid)
        expect(call).toMatchObject({
          params: { PhoneNumbers: payload.phone, TemplateCode: 'SMS_154950909' },
          reached: `+86${payload.phone}`,
        })
      })

      it('counts a mainland mobile with and without +86 as one number there', async () => {
        const { app } = appFor({ SMS_HOOK_LIMIT_PER_NUMBER: '1/1h' })
        const national = `139${digits(8)}`
        expect(await errorOf(await post(app, signupPayload({ phone: `86${national}` }).body))).toBeUndefined()
        const again = signupPayload({ phone: national })
        expect(await errorOf(await post(app, again.body))).toEqual({
          http_code: 429,
          message: MESSAGES.tooManyRequests,
        })
        expect(await callsFor(again.uuid)).toHaveLength(0)
      })

      it('lets SMS_HOOK_ALLOWED_COUNTRIES=1,44 refuse 1380013xxxx where it is a mainland mobile, and send it abroad where it is +1', async () => {
        const allowed = { SMS_HOOK_ALLOWED_COUNTRIES: '1,44' }
        const mainland = signupPayload({ phone: `1380013${digits(4)}` })
        const refusedHere = await post(appFor(allowed).app, mainland.body)
        expect(await errorOf(refusedHere)).toEqual({ http_code: 400, message: MESSAGES.countryNotAllowed })
        expect(await callsFor(mainland.uuid)).toHaveLength(0)

        const abroad = signupPayload({ phone: `1380013${digits(4)}` })
        expect(await errorOf(await post(appFor({ ...allowed, ...intl }).app, abroad.body))).toBeUndefined()
        const [call] = await callsFor(abroad.uuid)
        expect(call).toMatchObject({
          params: { PhoneNumbers: abroad.phone, TemplateCode: intl.GOTRUE_SMS_ALIYUN_INTL_TEMPLATE_CODE },
        })
        expect(call!.reached).toBe(`+${abroad.phone}`)
      })

      it('keeps a blocked prefix 86170 blocked for 170xxxxxxxx, and never reaches +86 170 with it abroad', async () => {
        const blocked = { SMS_HOOK_BLOCKED_PREFIXES: '86170' }
        for (const phone of [`170${digits(8)}`, `86170${digits(8)}`]) {
          const payload = signupPayload({ phone })
          expect(await errorOf(await post(appFor(blocked).app, payload.body))).toEqual({
            http_code: 400,
            message: MESSAGES.numberBlocked,
          })
          expect(await callsFor(payload.uuid)).toHaveLength(0)
        }
        const abroad = signupPayload({ phone: `170${digits(8)}` })
        expect(await errorOf(await post(appFor({ ...blocked, ...intl }).app, abroad.body))).toBeUndefined()
        expect((await callsFor(abroad.uuid))[0]).toMatchObject({
          params: { TemplateCode: intl.GOTRUE_SMS_ALIYUN_INTL_TEMPLATE_CODE },
          reached: `+${abroad.phone}`,
        })
      })

      it('answers +1 312 555 xxxx with 400 and calls nobody when Aliyun has no international template', async () => {
        const { app } = appFor({ SMS_HOOK_NATIONAL_NUMBERS: 'none' })
        const payload = signupPayload({ phone: `1312555${digits(4)}` })
        expect(await errorOf(await post(app, payload.body))).toEqual({ http_code: 400, message: MESSAGES.noRoute })
        expect(await callsFor(payload.uuid)).toHaveLength(0)
      })
    })

    const answers: [string, FakeAnswer[], number, string, number][] = [
      ['per-number flow control', [{ code: 'isv.BUSINESS_LIMIT_CONTROL' }], 429, MESSAGES.rateLimited, 1],
      ['an invalid number', [{ code: 'isv.MOBILE_NUMBER_ILLEGAL' }], 400, MESSAGES.recipientInvalid, 1],
      ['a template error', [{ code: 'isv.SMS_TEMPLATE_ILLEGAL' }], 500, MESSAGES.configuration, 1],
      [
        'HTTP 400 Throttling.User on every attempt',
        Array(3).fill({ status: 400, code: 'Throttling.User', headers: { 'x-acs-retry-after': '20' } }),
        503,
        MESSAGES.unavailable,
        3,
      ],
      [
        'HTTP 503 on every attempt',
        Array(3).fill({ status: 503, code: 'ServiceUnavailable' }),
        503,
        MESSAGES.unavailable,
        3,
      ],
      ['a hang', [{ hang: true }], 504, MESSAGES.outcomeUnknown, 1],
      [
        "a proxy's HTML 502 page",
        [{ status: 502, raw: '<html>502 Bad Gateway</html>' }],
        504,
        MESSAGES.outcomeUnknown,
        1,
      ],
      ['an empty 503', [{ status: 503, raw: '' }], 504, MESSAGES.outcomeUnknown, 1],
    ]
    for (const legacy of [false, true]) {
      const form = legacy ? 'as HTTP N without metadata' : 'as 200 + error object with metadata'
      for (const [what, scripted, status, text, attempts] of answers) {
        it(`answers ${what} with ${status}, ${form}`, async () => {
          const { app } = appFor({ SMS_HOOK_TIMEOUT_MS: '1000' })
          const payload = signupPayload({ phone: uniqueMainlandPhone(), legacy })
          await script(payload.phone.slice(2), ...scripted)
          const response = await post(app, payload.body)
          expect(response.status).toBe(legacy ? status : 200)
          expect(response.headers.get('retry-after')).toBeNull()
          expect(await response.json()).toEqual({ error: { http_code: status, message: text } })
          expect(await callsFor(payload.phone.slice(2))).toHaveLength(attempts)
        })
      }
    }

    it('retries a transient failure within the hook and succeeds', async () => {
      const { app } = appFor()
      const payload = signupPayload({ phone: uniqueMainlandPhone() })
      await script(payload.phone.slice(2), { status: 503, code: 'ServiceUnavailable' })
      const response = await post(app, payload.body)
      expect(response.status).toBe(200)
      expect(await response.json()).toEqual({})
      const calls = await callsFor(payload.phone.slice(2))
      expect(calls.map((c) => c.answer)).toEqual([
        { status: 503, code: 'ServiceUnavailable' },
        { status: 200, code: 'OK' },
      ])
    })

    it("logs a configuration error with Aliyun's code, message and request id, and never the OTP", async () => {
      const { app, logs } = appFor()
      const payload = signupPayload({ phone: uniqueMainlandPhone() })
      await script(payload.phone.slice(2), { code: 'isv.AMOUNT_NOT_ENOUGH', message: `余额不足 ${payload.otp}` })
      await post(app, payload.body)
      const line = logs.find((l) => l.level === 'error' && l.provider_code === 'isv.AMOUNT_NOT_ENOUGH')
      expect(line).toMatchObject({ provider: 'aliyun', kind: 'configuration' })
      expect(line!.provider_message).toMatch(/余额不足/)
      expect(line!.request_id).toMatch(/^[0-9A-F-]{36}$/)
      expect(JSON.stringify(logs)).not.toContain(payload.otp)
    })

    it('does not send again after a hang: the first SMS may still arrive', async () => {
      const { app } = appFor({ SMS_HOOK_TIMEOUT_MS: '800' })
      const payload = signupPayload({ phone: uniqueMainlandPhone() })
      await script(payload.phone.slice(2), { hang: true })
      expect(await (await post(app, payload.body)).json()).toMatchObject({ error: { http_code: 504 } })
      expect(await (await post(app, payload.body)).json()).toMatchObject({ error: { http_code: 504 } })
      expect(await callsFor(payload.phone.slice(2))).toHaveLength(1)
    })

    describe('connection failures: the answer, and nothing of the request in any log line', () => {
      const faults = inject('networkFaults')
      // Node names a failure before the request left; workerd (fetch only) reports every one as a lost connection.
      const notSent = onWorkerd ? 504 : 503
      const cases: [string, string, number][] = [
        ['a refused connection', faults.refused, notSent],
        ['a TLS certificate nobody trusts (an intercepting proxy, a private CA)', faults.selfSignedTls, notSent],
        ['a reset before any answer', faults.resetOnConnect, 504],
        ['a reset after the request was sent ("socket hang up")', faults.resetAfterRequest, 504],
        ['an answer cut in the middle', faults.cutAnswer, 504],
      ]
      for (const [what, endpoint, status] of cases) {
        it(`answers ${what} with ${status} and logs no OTP, number or query string`, async () => {
          const { app, logs } = appFor({ GOTRUE_SMS_ALIYUN_ENDPOINT: endpoint, SMS_HOOK_TIMEOUT_MS: '1500' })
          const payload = signupPayload({ phone: uniqueMainlandPhone() })
          const response = await post(app, payload.body)
          expect(((await response.json()) as { error: { http_code: number } }).error.http_code).toBe(status)
          const failures = logs.filter((l) => l.msg === 'provider failed')
          expect(failures.length).toBeGreaterThan(0)
          const logged = JSON.stringify(logs)
          expect(logged).not.toContain(payload.otp)
          expect(logged).not.toContain(payload.phone.slice(2))
          expect(logged).not.toMatch(/PhoneNumbers?=|TemplateParam|AccessKeyId=|\?[A-Za-z]+=/)
          expect(logged.replaceAll(maskPhone(payload.phone), '')).not.toMatch(/(?<![\w.-])\d{7,}(?![\w-])/)
        })
      }
    })
  })
}
