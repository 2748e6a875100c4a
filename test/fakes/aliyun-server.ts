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
 * - `GET /__calls?key=<OutId or phone>`: every call received for that key, valid or not;
 * - `POST /__report` `{"key": "<OutId or BizId>", "status": "delivered" | "failed", "errCode"?: "..."}`: the
 *   carrier's receipt for a send SendSms accepted, which QuerySendDetails lists from then on (204; 404 for no such
 *   send).
 *
 * QuerySendDetails lists what SendSms accepted, as Aliyun does: by `PhoneNumber` exactly as SendSms's
 * `PhoneNumbers` was written, `SendDate` (the day of the send, China time), optionally `BizId`, a page at a time;
 * `SendStatus` 1 (waiting for the receipt) until `/__report` says otherwise. Its scripts are keyed
 * `QuerySendDetails:<PhoneNumber>`, apart from SendSms's.
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
  /**
   * With `hang`, on SendSms: the gateway takes the message first (QuerySendDetails lists it), as when its answer
   * is lost on the way back and the sender cannot tell whether the SMS went.
   */
  taken?: boolean
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
  /** The BizId of a message taken (SendSms, SendSmsVerifyCode), answered or not. */
  bizId?: string
}

const ACCOUNTS = new Map<string, { secret: string; token?: string }>([
  [FAKE_ALIYUN.accessKeyId, { secret: FAKE_ALIYUN.accessKeySecret }],
  [FAKE_ALIYUN.sts.accessKeyId, { secret: FAKE_ALIYUN.sts.accessKeySecret, token: FAKE_ALIYUN.sts.securityToken }],
])

const ACTIONS: Record<string, { version: string; required: string[]; phone: string }> = {
  SendSms: { version: '2017-05-25', required: ['PhoneNumbers', 'SignName', 'TemplateCode'], phone: 'PhoneNumbers' },
  QuerySendDetails: {
    version: '2017-05-25',
    required: ['PhoneNumber', 'SendDate', 'PageSize', 'CurrentPage'],
    phone: 'PhoneNumber',
  },
  SendSmsVerifyCode: {
    version: '2017-05-25',
    required: ['PhoneNumber', 'SignName', 'TemplateCode', 'TemplateParam'],
    phone: 'PhoneNumber',
  },
}

/** The gateway refuses requests dated more than 15 minutes from its clock. */
const MAX_SKEW_MS = 15 * 60 * 1000

/** A message SendSms accepted, as QuerySendDetails lists it. */
interface FakeSend {
  /** `PhoneNumbers` as the call wrote it. */
  phone: string
  outId: string | undefined
  bizId: string
  templateCode: string
  signName: string
  sentAt: number
  /** 1 waiting for the receipt, 2 failed, 3 delivered. */
  sendStatus: 1 | 2 | 3
  errCode: string
  receivedAt: number | undefined
}

export interface FakeAliyun {
  url: string
  close(): Promise<void>
}

export const startFakeAliyun = async (): Promise<FakeAliyun> => {
  const scripts = new Map<string, FakeAnswer[]>()
  const calls: FakeCall[] = []
  const nonces = new Set<string>()
  const sends: FakeSend[] = []

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
      if (url.pathname === '/__report' && req.method === 'POST') {
        const report = JSON.parse(body.toString('utf8')) as { key: string; status: string; errCode?: string }
        const send = sends.find((s) => s.outId === report.key || s.bizId === report.key)
        if (send === undefined || !['delivered', 'failed'].includes(report.status)) return json(res, 404)
        send.sendStatus = report.status === 'delivered' ? 3 : 2
        send.errCode = report.errCode ?? (report.status === 'delivered' ? 'DELIVERED' : 'MK:0001')
        send.receivedAt = Date.now()
        return json(res, 204)
      }
      handleApi(req, res, body, { scripts, calls, nonces, sends })
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

interface FakeState {
  scripts: Map<string, FakeAnswer[]>
  calls: FakeCall[]
  nonces: Set<string>
  sends: FakeSend[]
}

/** BizIds as Aliyun writes them (`900619746936498440^0`), unique even for two sends in one millisecond. */
let bizIds = 0
const nextBizId = () => `${Date.now()}${String(bizIds++ % 10_000).padStart(4, '0')}^0`

const handleApi = (req: IncomingMessage, res: ServerResponse, body: Buffer, state: FakeState) => {
  const { scripts, calls, nonces, sends } = state
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

  if (action === 'QuerySendDetails') return querySendDetails(params, scripts, sends, answer)

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
    if (scripted.taken && action === 'SendSms') take(call, params, phone, reading.reached, sends)
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
  if (action === 'SendSms') {
    const bizId = take(call, params, phone, reading.reached, sends)
    return answer(scripted?.status ?? 200, 'OK', 'OK', { BizId: bizId }, scripted?.headers)
  }
  call.reached = reading.reached
  const bizId = nextBizId()
  call.bizId = bizId
  return answer(scripted?.status ?? 200, 'OK', '成功', {
    Success: true,
    Model: { BizId: bizId, OutId: params.OutId, RequestId: randomUUID() },
  })
}

/** A SendSms message taken: listed by QuerySendDetails from now on, waiting for its receipt. */
const take = (call: FakeCall, params: Record<string, string>, phone: string, reached: string, sends: FakeSend[]) => {
  const bizId = nextBizId()
  call.reached = reached
  call.bizId = bizId
  sends.push({
    phone,
    outId: params.OutId,
    bizId,
    templateCode: params.TemplateCode!,
    signName: params.SignName!,
    sentAt: Date.now(),
    sendStatus: 1,
    errCode: '',
    receivedAt: undefined,
  })
  return bizId
}

type Answer = (
  status: number,
  code: string,
  message: string,
  extra?: Record<string, unknown>,
  headers?: Record<string, string>,
) => void

/**
 * QuerySendDetails: "PhoneNumber 接收短信的手机号码 (仅支持单个)", "SendDate 短信发送日期，支持查询最近30天的记录，格式yyyyMMdd",
 * "PageSize 取值范围为1~50", "CurrentPage"; `SmsSendDetailDTOs.SmsSendDetailDTO`, newest first.
 */
const querySendDetails = (
  params: Record<string, string>,
  scripts: Map<string, FakeAnswer[]>,
  sends: readonly FakeSend[],
  answer: Answer,
) => {
  const phone = params.PhoneNumber!
  const scripted = scripts.get(`QuerySendDetails:${phone}`)?.shift()
  if (scripted?.hang) return
  if (scripted?.code !== undefined && scripted.code !== 'OK') {
    return answer(scripted.status ?? 200, scripted.code, scripted.message ?? scripted.code, {}, scripted.headers)
  }
  if (phone.includes(',')) return answer(200, 'isv.MOBILE_COUNT_OVER_LIMIT', '手机号码数量超过限制')
  const day = /^(\d{4})(\d\d)(\d\d)$/.exec(params.SendDate!)
  const dayStart = day === null ? NaN : Date.UTC(+day[1]!, +day[2]! - 1, +day[3]!) - CHINA_OFFSET_MS
  if (!Number.isFinite(dayStart) || dayStart < Date.now() - 31 * 86_400_000 || dayStart > Date.now()) {
    return answer(200, 'isv.INVALID_PARAMETERS', 'SendDate 参数不合法')
  }
  const pageSize = Number(params.PageSize)
  const currentPage = Number(params.CurrentPage)
  if (
    !Number.isInteger(pageSize) ||
    pageSize < 1 ||
    pageSize > 50 ||
    !Number.isInteger(currentPage) ||
    currentPage < 1
  ) {
    return answer(200, 'isv.INVALID_PARAMETERS', 'PageSize 或 CurrentPage 参数不合法')
  }
  const listed = sends
    .filter(
      (send) =>
        send.phone === phone &&
        send.sentAt >= dayStart &&
        send.sentAt < dayStart + 86_400_000 &&
        (params.BizId === undefined || send.bizId === params.BizId),
    )
    .sort((a, b) => b.sentAt - a.sentAt)
  const page = listed.slice((currentPage - 1) * pageSize, currentPage * pageSize)
  return answer(200, 'OK', 'OK', {
    TotalCount: String(listed.length),
    SmsSendDetailDTOs: {
      SmsSendDetailDTO: page.map((send) => ({
        PhoneNum: send.phone,
        SendStatus: send.sendStatus,
        ErrCode: send.errCode,
        TemplateCode: send.templateCode,
        Content: `【${send.signName}】您的验证码为******`,
        SendDate: chinaTime(send.sentAt),
        ReceiveDate: send.receivedAt === undefined ? '' : chinaTime(send.receivedAt),
        ...(send.outId === undefined ? {} : { OutId: send.outId }),
      })),
    },
  })
}

const CHINA_OFFSET_MS = 8 * 3_600_000

/** `yyyy-MM-dd HH:mm:ss`, China time, as Aliyun writes its times. */
const chinaTime = (epochMs: number) => new Date(epochMs + CHINA_OFFSET_MS).toISOString().slice(0, 19).replace('T', ' ')

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
