/**
 * The one way fetch-based providers call their vendor, the one reading of a call that got no answer, and the
 * one reading of an answer that is not a success (`kindOfAnswer`), which Alibaba Cloud's classification shares.
 * Runs on Node and on workerd alike: `fetch` comes from `ProviderDeps`.
 */
import { ProviderError, type ProviderErrorKind } from '../errors.js'
import { isRecord } from '../record.js'
import { scrubText } from './scrub.js'
import type { SmsMessage } from './types.js'

export interface VendorRequest {
  /** The vendor's name as error texts show it (`Twilio`). */
  vendor: string
  url: string
  method?: string
  headers: Record<string, string>
  body: string
  signal: AbortSignal
}

/** Whatever the vendor answered, success or not. */
export interface VendorAnswer {
  status: number
  headers: Headers
  text: string
  /** The body parsed, when it was JSON; undefined for an HTML error page or an empty body. */
  json: unknown
}

/**
 * Sends one request and reads the whole answer. Rejects only when there was no answer, with a `ProviderError`
 * whose kind says whether the request could have reached the vendor (`noAnswer`); every HTTP status resolves.
 *
 * @example
 * const answer = await callVendor(fetch, { vendor: 'Twilio', url, headers, body, signal }, message)
 */
export const callVendor = async (
  fetch: typeof globalThis.fetch,
  request: VendorRequest,
  message: SmsMessage,
): Promise<VendorAnswer> => {
  let response: Response
  let text: string
  try {
    response = await fetch(request.url, {
      method: request.method ?? 'POST',
      headers: { accept: 'application/json', 'user-agent': 'sms-hook', ...request.headers },
      body: request.body,
      signal: request.signal,
    })
    // An answer cut in the middle fails here, after the vendor has read the request.
    text = await response.text()
  } catch (error) {
    throw noAnswer(request.vendor, error, message)
  }
  return { status: response.status, headers: response.headers, text, json: parseJson(text) }
}

/**
 * Codes of failures before any byte of the request could reach the vendor: the connection was refused, the
 * name did not resolve, no route, no connection in time, or TLS refused the vendor's certificate (the request
 * is only written after the handshake). Trying again, or another provider, cannot send the SMS twice.
 */
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REVOKED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
])

/**
 * Reads a call that got no answer. Node's fetch (undici) gives `TypeError: fetch failed` with the system
 * error as its `cause` (an `AggregateError` of one per address when it tried several). Only a failure whose
 * code says the request never left is `retryable`; a reset, a hang-up, an abort by the hook's deadline or an
 * answer cut short may follow a request the vendor has read, and no vendor here deduplicates, so the SMS may
 * have gone: `outcome_unknown`.
 *
 * workerd gives no code: "Network connection lost." for a refused connection, a reset and a cut answer alike,
 * and "internal error" for an unknown host or an untrusted certificate, which it also uses for failures of its
 * own. There every failure is `outcome_unknown`.
 */
export const noAnswer = (vendor: string, error: unknown, message: SmsMessage): ProviderError => {
  const codes = networkCodes(error)
  if (codes.length > 0 && codes.every(notSent)) {
    return new ProviderError('retryable', scrubText(`could not connect to ${vendor} (${codes[0]})`, message), {
      cause: error,
    })
  }
  return new ProviderError(
    'outcome_unknown',
    scrubText(`no answer from ${vendor}, the SMS may have been sent (${describe(error)})`, message),
    { cause: error },
  )
}

const notSent = (code: string) => NOT_SENT.has(code) || code.startsWith('ERR_SSL_')

/**
 * The system error codes under `error`: on the error itself (node:http), on its `cause` (fetch), or on each of
 * an `AggregateError`'s errors. Empty when none carries one (an abort, workerd's errors).
 */
const networkCodes = (error: unknown, depth = 0): string[] => {
  if (!isRecord(error) || depth > 3) return []
  if (Array.isArray(error.errors) && error.errors.length > 0) {
    return error.errors.flatMap((e: unknown) => networkCodes(e, depth + 1))
  }
  const below = networkCodes(error.cause, depth + 1)
  return below.length > 0 || typeof error.code !== 'string' ? below : [error.code]
}

/** `TypeError: fetch failed: other side closed`: the error and its causes, for the log. */
const describe = (error: unknown): string => {
  const parts: string[] = []
  for (let e: unknown = error, depth = 0; e !== undefined && depth < 3; depth++) {
    parts.push(e instanceof Error ? (depth === 0 ? `${e.name}: ${e.message}` : e.message) : String(e))
    e = isRecord(e) ? e.cause : undefined
  }
  return parts.join(': ')
}

/** How a provider read a vendor's answer that is not a success: the kind, and what the logs keep of it. */
export interface VendorRejection {
  kind: ProviderErrorKind
  /** The code is missing from the vendor's table (`ProviderErrorOptions.unrecognised`). */
  unrecognised?: boolean
  /** The vendor's own error code, as text (`21211`, `AuthFailure.SignatureFailure`). */
  code?: string
  /** The vendor's explanation; scrubbed before it is kept. */
  detail?: string
  requestId?: string
}

/**
 * The `ProviderError` for an answer that is not a success, with the vendor's code, request id and
 * `Retry-After`, and a message that keeps nothing of the request (`scrubText`).
 *
 * @example
 * throw providerError('Twilio', answer, { kind: 'recipient_invalid', code: '21211', detail: json.message }, message, clock.now())
 * // ProviderError: Twilio answered HTTP 400, code 21211: The 'To' number +1500****0001 is not a valid phone number.
 */
export const providerError = (
  vendor: string,
  answer: VendorAnswer,
  { kind, unrecognised, code, detail, requestId }: VendorRejection,
  message: SmsMessage,
  now: number,
): ProviderError => {
  const text = `${vendor} answered HTTP ${answer.status}${code === undefined ? '' : `, code ${code}`}: ${detail ?? 'no explanation'}`
  return new ProviderError(kind, scrubText(text, message), {
    providerCode: code,
    requestId,
    retryAfterMs: retryAfterMs(answer.headers, now),
    ...(unrecognised ? { unrecognised } : {}),
  })
}

/** What a provider found in an answer that is not a success, for `kindOfAnswer`. */
export interface AnswerReading {
  /** The body has the vendor's own shape (its error JSON, its result list), whatever code it carries. */
  vendorJson: boolean
  /** The vendor's code for this failure; undefined when the answer carries none (or a success code without its id). */
  code?: string
  /** The kind the vendor's table gives `code`; undefined when the table does not list it. */
  known?: ProviderErrorKind
}

/**
 * The one reading, for every vendor, of an answer that is not a success (docs/providers/index.md, "How a failure
 * is read"):
 * - Without the vendor's JSON, something in between answered (a proxy, a gateway): a 2xx or a 5xx (a 502 or
 *   504 page: the upstream may have had the request) is `outcome_unknown`; a 429 was throttled before reaching
 *   the vendor, `retryable`; any other status (a 404 or 403 page) is the path to the vendor, ours to fix.
 * - A 5xx with the vendor's JSON is the vendor failing for everyone, `retryable` whatever its code.
 * - Otherwise the vendor's table decides; a 429 is our account throttled. A code the table does not know (or
 *   none) is read as a destination refusal, `recipient_invalid` and `unrecognised`: it is no evidence against
 *   our account, and reading it as one would let any number fail over and count towards the breaker.
 * - A 2xx with the vendor's JSON but no code is a success without its id: the SMS may have gone.
 */
export const kindOfAnswer = (
  status: number,
  { vendorJson, code, known }: AnswerReading,
): Pick<VendorRejection, 'kind' | 'unrecognised'> => {
  const ok = status >= 200 && status < 300
  if (!vendorJson) {
    if (ok || status >= 500) return { kind: 'outcome_unknown' }
    return { kind: status === 429 ? 'retryable' : 'configuration' }
  }
  if (status >= 500) return { kind: 'retryable' }
  if (known !== undefined) return { kind: known }
  if (status === 429) return { kind: 'retryable' }
  if (ok && code === undefined) return { kind: 'outcome_unknown' }
  return { kind: 'recipient_invalid', unrecognised: true }
}

/**
 * `Retry-After` (RFC 9110: seconds, or an HTTP date) in milliseconds from `now`; undefined when absent or
 * unreadable.
 */
export const retryAfterMs = (headers: Headers, now: number): number | undefined => {
  const value = headers.get('retry-after')?.trim()
  if (!value) return undefined
  if (/^\d+$/.test(value)) return Number(value) * 1000
  // An HTTP date starts with the day's name; Date.parse alone would take "-1" for a year.
  const date = /^[A-Za-z]{3}, /.test(value) ? Date.parse(value) : Number.NaN
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** A non-empty string field of a vendor's JSON, or a number as its digits (some vendors send ids as numbers). */
export const stringOf = (value: unknown): string | undefined => {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  return typeof value === 'string' && value !== '' ? value : undefined
}
