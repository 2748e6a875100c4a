/**
 * A local stand-in for Tencent Cloud SMS `SendSms` (version 2021-01-11). It checks each call as the API
 * gateway does - the TC3-HMAC-SHA256 signature recomputed here with node:crypto, independently of the code
 * under test, the credential scope, a timestamp within five minutes, the action, version, region and content
 * type - then the parameters as SMS does: the SdkAppId, signature and template of the account, as many
 * template parameters as the template takes, and numbers in `+` E.164. Answers are Tencent's: always HTTP
 * 200 with `{"Response":{...,"RequestId"}}`, a request-level `Error` or a per-number `SendStatusSet`.
 */
import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto'
import { FAKE_TENCENT } from './vendor-accounts.js'
import {
  isJson,
  parseJsonBody,
  startFakeVendor,
  type Reply,
  type ScriptedAnswer,
  type VendorRequest,
} from './vendor-fake.js'

/** The gateway refuses a timestamp more than five minutes from its clock. */
const MAX_SKEW_S = 300

const AUTHORIZATION =
  /^TC3-HMAC-SHA256 Credential=([^/\s]+)\/(\d{4}-\d\d-\d\d)\/([a-z]+)\/tc3_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/

const requestError = (code: string, message: string): Reply => ({
  status: 200,
  body: { Response: { Error: { Code: code, Message: message }, RequestId: randomUUID() } },
})

const sendStatus = (params: Record<string, unknown>, code: string, message: string, serialNo = ''): Reply => {
  const phones = params.PhoneNumberSet as string[]
  return {
    status: 200,
    body: {
      Response: {
        SendStatusSet: phones.map((phone) => ({
          SerialNo: serialNo,
          PhoneNumber: phone,
          Fee: code === 'Ok' ? 1 : 0,
          SessionContext: params.SessionContext ?? '',
          Code: code,
          Message: message,
          IsoCode: phone.startsWith('+86') ? 'CN' : phone.startsWith('+44') ? 'GB' : 'US',
        })),
        RequestId: randomUUID(),
      },
    },
  }
}

const check = (request: VendorRequest) => {
  const json = parseJsonBody(request)
  const params = json ?? {}
  const phones = params.PhoneNumberSet
  const key = Array.isArray(phones) && typeof phones[0] === 'string' ? phones[0].replace(/^\+/, '') : undefined
  const refuse = (code: string, message: string) => ({
    key,
    params,
    refusal: { code, reply: requestError(code, message) },
  })
  const header = (name: string) => {
    const value = request.headers[name]
    return Array.isArray(value) ? value.join(',') : value
  }

  if (request.method !== 'POST' || request.path !== '/')
    return refuse('UnsupportedProtocol', 'Only POST / is supported.')
  const auth = AUTHORIZATION.exec(header('authorization') ?? '')
  if (!auth) return refuse('AuthFailure.InvalidAuthorization', 'Authorization is not a valid TC3-HMAC-SHA256 header.')
  const [, secretId, date, service, signedHeaders, signature] = auth as unknown as string[]
  if (secretId !== FAKE_TENCENT.secretId) {
    return refuse(
      'AuthFailure.SecretIdNotFound',
      'The SecretId is not found, please ensure that your SecretId is correct.',
    )
  }
  const timestamp = header('x-tc-timestamp') ?? ''
  const skew = Math.abs(Number(timestamp) - Date.now() / 1000)
  if (!/^\d{10}$/.test(timestamp) || skew > MAX_SKEW_S) {
    return refuse('AuthFailure.SignatureExpire', `Signature expired. Timestamp: ${timestamp}.`)
  }
  const names = signedHeaders!.split(';')
  if (!names.includes('content-type') || !names.includes('host') || service !== 'sms') {
    return refuse('AuthFailure.SignatureFailure', 'The provided credentials could not be validated.')
  }
  if (date !== new Date(Number(timestamp) * 1000).toISOString().slice(0, 10)) {
    return refuse('AuthFailure.SignatureFailure', 'The date of the credential scope is not the date of X-TC-Timestamp.')
  }
  // Header values lowercased and trimmed; the host without its port, as the official SDK signs it.
  const value = (name: string) => (name === 'host' ? (header('host') ?? '').replace(/:\d+$/, '') : (header(name) ?? ''))
  const canonicalRequest = [
    'POST',
    '/',
    '',
    names.map((name) => `${name}:${value(name).trim().toLowerCase()}\n`).join(''),
    signedHeaders,
    createHash('sha256').update(request.body).digest('hex'),
  ].join('\n')
  const stringToSign = [
    'TC3-HMAC-SHA256',
    timestamp,
    `${date}/sms/tc3_request`,
    createHash('sha256').update(canonicalRequest, 'utf8').digest('hex'),
  ].join('\n')
  const hmac = (key: string | Buffer, text: string) => createHmac('sha256', key).update(text, 'utf8').digest()
  const key3 = hmac(hmac(hmac(`TC3${FAKE_TENCENT.secretKey}`, date!), 'sms'), 'tc3_request')
  if (!timingSafeEqual(hmac(key3, stringToSign), Buffer.from(signature!, 'hex'))) {
    return refuse(
      'AuthFailure.SignatureFailure',
      'The provided credentials could not be validated. Please check your signature is correct.',
    )
  }

  if (header('x-tc-action') !== 'SendSms')
    return refuse('InvalidAction', `The action ${header('x-tc-action')} is not found.`)
  if (header('x-tc-version') !== '2021-01-11') return refuse('NoSuchVersion', 'The requested version does not exist.')
  if (!/^[a-z]{2}-[a-z]+$/.test(header('x-tc-region') ?? ''))
    return refuse('UnsupportedRegion', 'The region is not supported.')
  if (!isJson(request) || json === undefined)
    return refuse('InvalidParameter', 'The body must be JSON with Content-Type application/json.')

  for (const name of ['PhoneNumberSet', 'SmsSdkAppId', 'TemplateId', 'SignName']) {
    if (params[name] === undefined || params[name] === '') {
      return refuse('MissingParameter', `The request is missing a required parameter \`${name}\`.`)
    }
  }
  if (
    !Array.isArray(phones) ||
    phones.length === 0 ||
    phones.length > 200 ||
    !phones.every((p) => typeof p === 'string')
  ) {
    return refuse('InvalidParameter', 'PhoneNumberSet must be a list of 1 to 200 strings.')
  }
  if (params.SmsSdkAppId !== FAKE_TENCENT.sdkAppId)
    return refuse('UnauthorizedOperation.SmsSdkAppIdVerifyFail', 'SmsSdkAppId verify failed.')
  if (params.SignName !== FAKE_TENCENT.signName) {
    return refuse('FailedOperation.SignatureIncorrectOrUnapproved', 'The signature is not approved or does not exist.')
  }
  const parameters = FAKE_TENCENT.templates[String(params.TemplateId)]
  if (parameters === undefined) {
    return refuse('FailedOperation.TemplateIncorrectOrUnapproved', 'The template is not approved or does not exist.')
  }
  const set = params.TemplateParamSet ?? []
  if (!Array.isArray(set) || !set.every((p) => typeof p === 'string') || set.length !== parameters) {
    return refuse(
      'FailedOperation.TemplateParamSetNotMatchApprovedTemplate',
      'TemplateParamSet does not match the approved template.',
    )
  }
  if (typeof params.SessionContext === 'string' && Buffer.byteLength(params.SessionContext) > 512) {
    return refuse('InvalidParameterValue.ContentLengthLimit', 'SessionContext is longer than 512 bytes.')
  }
  const badNumber = phones.find((p: string) => !/^\+[1-9]\d{6,14}$/.test(p))
  if (badNumber !== undefined) {
    return {
      key,
      params,
      refusal: {
        code: 'InvalidParameterValue.IncorrectPhoneNumber',
        reply: sendStatus(params, 'InvalidParameterValue.IncorrectPhoneNumber', `invalid mobile number ${badNumber}`),
      },
    }
  }
  return { key, params }
}

const error = (answer: ScriptedAnswer, params: Record<string, unknown>): Reply => {
  const code = String(answer.error)
  const message = answer.detail ?? `${code} for ${String((params.PhoneNumberSet as string[])[0])}`
  return answer.perNumber ? sendStatus(params, code, message) : requestError(code, message)
}

const success = (params: Record<string, unknown>): Reply =>
  sendStatus(
    params,
    'Ok',
    'send success',
    `2433:${Date.now()}${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`,
  )

export const startFakeTencent = () => startFakeVendor({ check, success, error })
