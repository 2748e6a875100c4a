/**
 * A local stand-in for Alibaba Cloud's dysmsapi and dypnsapi gateways: a real HTTP server on 127.0.0.1.
 *
 * It checks each call as the real gateway would - ACS3-HMAC-SHA256 signature (recomputed here with
 * node:crypto, independently of the code under test), date, nonce, AccessKey and STS token, action, version,
 * required parameters and `TemplateParam` JSON - and answers with Aliyun's own codes.
 *
 * It reads numbers as Aliyun documents them: with a mainland template `PhoneNumbers` is a mainland mobile, 11
 * digits `1[3-9]` alone or after `+`, `+86`, `0086` or `86`, whatever the caller meant by them; with an
 * international template (`FAKE_ALIYUN.internationalTemplates`) it is country code + number, and a mainland
 * number is refused. Each call records the phone it reached (`reached`).
 *
 * Tests drive it over HTTP only, so that the same tests can later run where they cannot reach this process
 * (workerd):
 * - `POST /__script` `{"key": "<OutId or phone>", "answers": [Answer, ...]}`: the next valid calls for that key
 *   get these answers in order, then `OK` again;
 * - `GET /__calls?key=<OutId or phone>`: every call received for that key, valid or not.
 */
import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { FAKE_ALIYUN } from './aliyun-accounts.js'

/** One scripted answer. */
export interface FakeAnswer {
  /** HTTP status, 200 by default. */
  status?: number
  /** Aliyun's `Code`, `OK` by default. */
  code?: string
  message?: string
  headers?: Record<string, string>
  /** A body that is not Aliyun's JSON (a proxy's error page). */
  raw?: string
  /** Never answer; the connection stays open until the client gives up. */
  hang?: boolean
}

export interface FakeCall {
  action: string | undefined
  version: string | undefined
  params: Record<string, string>
  accessKeyId: string | undefined
  securityToken: string | undefined
  userAgent: string | undefined
  /** Whether the ACS3 signature matched our own computation. */
  signatureValid: boolean
  /** What the fake answered (`hang` when it did not). */
  answer: { status: number; code: string } | 'hang'
  /** The phone Aliyun would send to, `+` and E.164 digits, as it reads the number; absent when it refused it. */
  reached?: string
}

const ACCOUNTS = new Map<string, { secret: string; token?: string }>([
  [FAKE_ALIYUN.accessKeyId, { secret: FAKE_ALIYUN.accessKeySecret }],
  [FAKE_ALIYUN.sts.accessKeyId, { secret: FAKE_ALIYUN.sts.accessKeySecret, token: FAKE_ALIYUN.sts.securityToken }],
])

const ACTIONS: Record<string, { version: string; required: string[]; phone: string }> = {
  SendSms: { version: '2017-05-25', required: ['PhoneNumbers', 'SignName', 'TemplateCode'], phone: 'PhoneNumbers' },
  SendSmsVerifyCode: {
    version: '2017-05-25',
    required: ['PhoneNumber', 'SignName', 'TemplateCode', 'TemplateParam'],
    phone: 'PhoneNumber',
  },
}

/** The gateway refuses requests dated more than 15 minutes from its clock. */
const MAX_SKEW_MS = 15 * 60 * 1000

export interface FakeAliyun {
  url: string
  close(): Promise<void>
}

export const startFakeAliyun = async (): Promise<FakeAliyun> => {
  const scripts = new Map<string, FakeAnswer[]>()
  const calls: FakeCall[] = []
  const nonces = new Set<string>()

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const url = new URL(req.url ?? '/', 'http://fake')
      if (url.pathname === '/__script' && req.method === 'POST') {
        const { key, answers } = JSON.parse(body.toString('utf8')) as { key: string; answers: FakeAnswer[] }
        scripts.set(key, [...answers])
        return json(res, 204)
      }
      if (url.pathname === '/__calls' && req.method === 'GET') {
        const key = url.searchParams.get('key')
        return json(
          res,
          200,
          calls.filter((call) => key === null || keysOf(call).includes(key)),
        )
      }
      handleApi(req, res, body, scripts, calls, nonces)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

const keysOf = (call: FakeCall) =>
  [call.params.OutId, call.params.PhoneNumbers, call.params.PhoneNumber].filter((k) => k !== undefined)

const handleApi = (
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  scripts: Map<string, FakeAnswer[]>,
  calls: FakeCall[],
  nonces: Set<string>,
) => {
  const url = new URL(req.url ?? '/', 'http://fake')
  const params = parseQuery(url.search.slice(1))
  const header = (name: string) => {
    const value = req.headers[name]
    return Array.isArray(value) ? value.join(',') : value
  }
  const action = header('x-acs-action')
  const version = header('x-acs-version')
  const auth = /^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]{64})$/.exec(
    header('authorization') ?? '',
  )
  const account = auth?.[1] === undefined ? undefined : ACCOUNTS.get(auth[1])
  const call: FakeCall = {
    action,
    version,
    params,
    accessKeyId: auth?.[1],
    securityToken: header('x-acs-security-token'),
    userAgent: header('user-agent'),
    signatureValid: false,
    answer: 'hang',
  }
  calls.push(call)
  const answer = (status: number, code: string, message: string, extra: Record<string, unknown> = {}, headers = {}) => {
    call.answer = { status, code }
    json(res, status, { RequestId: randomUUID().toUpperCase(), Code: code, Message: message, ...extra }, headers)
  }

  if (req.method !== 'POST' || url.pathname !== '/')
    return answer(404, 'InvalidAction.NotFound', 'Specified api is not found')
  if (!auth) return answer(400, 'IncompleteSignature', 'The request signature does not conform to Aliyun standards.')
  if (!account) return answer(404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.')

  const signedNames = auth[2]!.split(';')
  const mustSign = [
    'host',
    'x-acs-action',
    'x-acs-content-sha256',
    'x-acs-date',
    'x-acs-signature-nonce',
    'x-acs-version',
  ]
  const unsigned = Object.keys(req.headers).filter((name) => name.startsWith('x-acs-') && !signedNames.includes(name))
  if (mustSign.some((name) => !signedNames.includes(name)) || unsigned.length > 0) {
    return answer(400, 'IncompleteSignature', `Headers must be signed: ${[...mustSign, ...unsigned].join(';')}`)
  }
  const bodyHash = createHash('sha256').update(body).digest('hex')
  if (header('x-acs-content-sha256') !== bodyHash) {
    return answer(400, 'InvalidContentSHA256', 'x-acs-content-sha256 does not match the body')
  }
  const canonicalRequest = [
    req.method,
    url.pathname,
    canonicalize(params),
    signedNames.map((name) => `${name}:${(header(name) ?? '').trim()}\n`).join(''),
    signedNames.join(';'),
    bodyHash,
  ].join('\n')
  const stringToSign = `ACS3-HMAC-SHA256\n${createHash('sha256').update(canonicalRequest, 'utf8').digest('hex')}`
  const expected = createHmac('sha256', account.secret).update(stringToSign, 'utf8').digest()
  call.signatureValid = timingSafeEqual(expected, Buffer.from(auth[3]!, 'hex'))
  if (!call.signatureValid) {
    const why = `Specified signature is not matched with our calculation. server string to sign is:${stringToSign}`
    return answer(400, 'SignatureDoesNotMatch', why)
  }

  const date = header('x-acs-date') ?? ''
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(date) || Math.abs(Date.parse(date) - Date.now()) > MAX_SKEW_MS) {
    return answer(400, 'InvalidTimeStamp.Expired', `Specified time stamp or date value is expired: ${date}`)
  }
  const nonce = header('x-acs-signature-nonce') ?? ''
  if (nonces.has(nonce)) return answer(400, 'SignatureNonceUsed', 'Specified signature nonce was used already.')
  nonces.add(nonce)
  if (account.token !== undefined && header('x-acs-security-token') !== account.token) {
    return answer(
      400,
      'InvalidSecurityToken.MismatchWithAccessKey',
      'Specified SecurityToken mismatch with the AccessKey.',
    )
  }

  const api = action === undefined ? undefined : ACTIONS[action]
  if (!api)
    return answer(404, 'InvalidAction.NotFound', `Specified api is not found, please check your url and method.`)
  if (version !== api.version) return answer(400, 'InvalidVersion', `Specified parameter Version is not valid.`)
  const missing = api.required.find((name) => !params[name])
  if (missing) return answer(400, `Missing${missing}`, `${missing} is mandatory for this action.`)

  const templateParam = params.TemplateParam
  if (templateParam !== undefined && !isObjectOfStrings(templateParam)) {
    return answer(200, 'isv.INVALID_JSON_PARAM', 'JSON参数不合法，只接受字符串值')
  }
  const phone = params[api.phone]!
  const reading =
    action === 'SendSmsVerifyCode'
      ? readVerifyCodeNumber(phone, params.CountryCode)
      : readPhoneNumbers(
          phone,
          (FAKE_ALIYUN.internationalTemplates as readonly string[]).includes(params.TemplateCode!),
        )
  if (!reading.ok) return answer(200, reading.code, reading.message)

  const script = scripts.get(params.OutId ?? '') ?? scripts.get(phone)
  const scripted = script?.shift()
  if (scripted?.hang) {
    // Dropped by the client's timeout or the server's close.
    return
  }
  if (scripted?.raw !== undefined) {
    call.answer = { status: scripted.status ?? 200, code: '' }
    res.writeHead(scripted.status ?? 200, { 'content-type': 'text/html', ...scripted.headers })
    res.end(scripted.raw)
    return
  }
  if (scripted?.code !== undefined && scripted.code !== 'OK') {
    const gatewayError = scripted.status !== undefined && scripted.status >= 400
    const extra = gatewayError ? { HostId: req.headers.host, Recommend: 'https://api.aliyun.com/troubleshoot' } : {}
    return answer(scripted.status ?? 200, scripted.code, scripted.message ?? scripted.code, extra, scripted.headers)
  }
  call.reached = reading.reached
  const bizId = `${Date.now()}^0`
  if (action === 'SendSms') return answer(scripted?.status ?? 200, 'OK', 'OK', { BizId: bizId }, scripted?.headers)
  return answer(scripted?.status ?? 200, 'OK', '成功', {
    Success: true,
    Model: { BizId: bizId, OutId: params.OutId, RequestId: randomUUID() },
  })
}

type Reading = { ok: true; reached: string } | { ok: false; code: string; message: string }

const MAINLAND_MOBILE = /^1[3-9]\d{9}$/
const ILLEGAL: Reading = { ok: false, code: 'isv.MOBILE_NUMBER_ILLEGAL', message: '非法手机号' }

/**
 * SendSms: "国内短信：+/+86/0086/86 或无任何前缀的手机号码", "国际/港澳台消息：国际区号+号码". Which of the two a number is
 * follows from the template, not from the digits.
 */
const readPhoneNumbers = (phone: string, international: boolean): Reading => {
  if (international) {
    if (!/^[1-9]\d{6,14}$/.test(phone)) return ILLEGAL
    if (/^86/.test(phone)) {
      return { ok: false, code: 'isv.DOMESTIC_NUMBER_NOT_SUPPORTED', message: '国际/港澳台消息模板不支持发送境内号码' }
    }
    return { ok: true, reached: `+${phone}` }
  }
  const national = /^(?:\+86|0086|86|\+)?(\d+)$/.exec(phone)?.[1]
  if (national === undefined || !MAINLAND_MOBILE.test(national)) return ILLEGAL
  return { ok: true, reached: `+86${national}` }
}

/** SendSmsVerifyCode: `PhoneNumber` is a mainland mobile, `CountryCode` 86. */
const readVerifyCodeNumber = (phone: string, countryCode = '86'): Reading =>
  MAINLAND_MOBILE.test(phone) && countryCode === '86' ? { ok: true, reached: `+86${phone}` } : ILLEGAL

/** The query as the gateway reads it: `+` is a space, as in any form-encoded string. */
const parseQuery = (raw: string): Record<string, string> => {
  const params: Record<string, string> = {}
  for (const pair of raw.split('&')) {
    if (!pair) continue
    const at = pair.indexOf('=')
    const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '))
    params[decode(at < 0 ? pair : pair.slice(0, at))] = at < 0 ? '' : decode(pair.slice(at + 1))
  }
  return params
}

/** RFC 3986: everything but `A-Za-z0-9-_.~` as UTF-8 `%XX`. */
const rfc3986 = (value: string) =>
  Array.from(Buffer.from(value, 'utf8'), (byte) => {
    const c = String.fromCharCode(byte)
    return /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }).join('')

const canonicalize = (params: Record<string, string>) =>
  Object.keys(params)
    .sort()
    .map((name) => `${rfc3986(name)}=${rfc3986(params[name]!)}`)
    .join('&')

const isObjectOfStrings = (text: string) => {
  try {
    const value: unknown = JSON.parse(text)
    return (
      typeof value === 'object' &&
      value !== null &&
      !Array.isArray(value) &&
      Object.values(value).every((v) => typeof v === 'string')
    )
  } catch {
    return false
  }
}

const json = (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) => {
  if (body === undefined) {
    res.writeHead(status, headers).end()
    return
  }
  res.writeHead(status, { 'content-type': 'application/json;charset=utf-8', ...headers }).end(JSON.stringify(body))
}
