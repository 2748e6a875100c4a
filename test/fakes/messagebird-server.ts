/**
 * A local stand-in for MessageBird's SMS API (`POST /messages`). It checks each call as MessageBird does -
 * `Authorization: AccessKey <key>`, a JSON body with `originator`, `recipients` (numbers without `+`), `body`
 * and a known `datacoding`, and `reportUrl` (an http(s) URL) and `reference` (a non-empty string) when given - and
 * answers 201 with the message object, or MessageBird's
 * `{"errors":[{"code","description","parameter"}]}` with its HTTP status.
 */
import { FAKE_MESSAGEBIRD } from './vendor-accounts.js'
import { hexId, isJson, parseJsonBody, startFakeVendor, type Reply, type VendorRequest } from './vendor-fake.js'

/** MessageBird's HTTP status, text and parameter for the codes tests script. */
const ERRORS: Record<number, [number, string, string | null]> = {
  2: [401, 'Request not allowed (incorrect access_key)', 'access_key'],
  9: [422, 'no (correct) recipients found', 'recipients'],
  20: [404, 'message not found', null],
  25: [402, 'Not enough balance', null],
}

const messagebirdError = (code: number, description?: string, parameter?: string | null): Reply => {
  const [status, text, param] = ERRORS[code] ?? [422, `error ${code}`, null]
  return { status, body: { errors: [{ code, description: description ?? text, parameter: parameter ?? param }] } }
}

const DATACODINGS = ['plain', 'unicode', 'auto']

const check = (request: VendorRequest) => {
  const json = parseJsonBody(request)
  const params = json ?? {}
  const recipients = params.recipients
  const first = Array.isArray(recipients) ? recipients[0] : undefined
  const key = typeof first === 'string' || typeof first === 'number' ? String(first) : undefined
  const refuse = (code: number, description?: string, parameter?: string) => ({
    key,
    params,
    refusal: { code: String(code), reply: messagebirdError(code, description, parameter) },
  })
  if (request.method !== 'POST' || request.path !== '/messages') return refuse(20, 'not found', undefined)
  if (request.headers.authorization !== `AccessKey ${FAKE_MESSAGEBIRD.accessKey}`) return refuse(2)
  if (!isJson(request) || json === undefined) return refuse(9, 'body is not valid JSON', 'body')
  if (typeof params.originator !== 'string' || params.originator === '') {
    return refuse(9, 'originator is required', 'originator')
  }
  if (
    !Array.isArray(recipients) ||
    recipients.length === 0 ||
    !recipients.every((r) => (typeof r === 'string' || typeof r === 'number') && /^[1-9]\d{6,14}$/.test(String(r)))
  ) {
    return refuse(9)
  }
  if (typeof params.body !== 'string' || params.body === '') return refuse(9, 'body is required', 'body')
  if (params.datacoding !== undefined && !DATACODINGS.includes(String(params.datacoding))) {
    return refuse(9, 'datacoding is invalid', 'datacoding')
  }
  if (params.reportUrl !== undefined && !isHttpUrl(params.reportUrl)) {
    return refuse(9, 'reportUrl is invalid', 'reportUrl')
  }
  if (params.reference !== undefined && (typeof params.reference !== 'string' || params.reference === '')) {
    return refuse(9, 'reference is invalid', 'reference')
  }
  return { key, params }
}

const isHttpUrl = (value: unknown): boolean => {
  if (typeof value !== 'string') return false
  try {
    const url = new URL(value)
    return url.protocol === 'https:' || url.protocol === 'http:'
  } catch {
    return false
  }
}

const success = (params: Record<string, unknown>): Reply => {
  const id = hexId(16)
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, '+00:00')
  const recipients = params.recipients as (string | number)[]
  return {
    status: 201,
    body: {
      id,
      href: `https://rest.messagebird.com/messages/${id}`,
      direction: 'mt',
      type: 'sms',
      originator: params.originator,
      body: params.body,
      reference: params.reference ?? null,
      reportUrl: params.reportUrl ?? null,
      validity: null,
      gateway: 10,
      typeDetails: {},
      datacoding: params.datacoding ?? 'plain',
      mclass: 1,
      scheduledDatetime: null,
      createdDatetime: now,
      recipients: {
        totalCount: recipients.length,
        totalSentCount: recipients.length,
        totalDeliveredCount: 0,
        totalDeliveryFailedCount: 0,
        items: recipients.map((r) => ({ recipient: Number(r), status: 'sent', statusDatetime: now })),
      },
    },
  }
}

export const startFakeMessageBird = () =>
  startFakeVendor({ check, success, error: (answer) => messagebirdError(Number(answer.error), answer.detail) })
