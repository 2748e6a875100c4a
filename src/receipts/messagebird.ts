/**
 * MessageBird's status reports: `GET /receipts/messagebird/<token>?id=...&reference=...&status=...`, the
 * `reportUrl` each message named (providers/messagebird.ts), with `id`, `reference` (ours), `recipient`,
 * `status`, `statusDatetime` and, on a failure, `statusErrorCode`. The path token guards the route; with
 * SMS_HOOK_MESSAGEBIRD_SIGNING_KEY set, the `MessageBird-Signature-JWT` header is checked too.
 */
import type { Config } from '../config/index.js'
import { base64url, constantTimeEqual, fromBase64url, hmac, sha256Hex, type HmacHash } from '../digest.js'
import type { DeliveryStatus } from '../delivery/types.js'
import { isRecord } from '../record.js'
import { rfc3339 } from './times.js'
import type { ParsedReceipts, ReceiptRequest, ReceiptVendor } from './types.js'

/** `status` values of an SMS recipient (MessageBird's API reference). */
const STATUSES = new Map<string, DeliveryStatus>([
  ['scheduled', 'accepted'],
  ['sent', 'sent'],
  ['buffered', 'sent'],
  ['delivered', 'delivered'],
  ['expired', 'expired'],
  ['delivery_failed', 'failed'],
])

/** A report is a GET: any body is unexpected, and a small one is all that is read. */
const MAX_BODY_BYTES = 4 * 1024

/** Seconds of clock difference allowed on `nbf` and `exp`, as MessageBird's own verifier allows. */
export const MESSAGEBIRD_LEEWAY_SECONDS = 5

/** The JWT algorithms MessageBird's verifier accepts; it signs with HS256. */
const ALGORITHMS: Record<string, HmacHash> = { HS256: 'SHA-256', HS384: 'SHA-384', HS512: 'SHA-512' }

/** A JWT part's JSON object (UTF-8 in base64url); undefined when it is not one. */
const json = (part: string): Record<string, unknown> | undefined => {
  const bytes = fromBase64url(part)
  if (bytes === undefined) return undefined
  try {
    const value: unknown = JSON.parse(UTF8.decode(bytes))
    return isRecord(value) ? value : undefined
  } catch {
    return undefined
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

/**
 * Whether `jwt` is MessageBird's signature of this request (its "verify HTTP requests" guide): an HMAC JWT under
 * the signing key, issued by `MessageBird`, within `nbf`..`exp`, with a `jti`, whose `url_hash` is the hex
 * SHA-256 of the full URL as requested and whose `payload_hash` is that of the body (required when there is one).
 */
export const verifyMessageBirdJwt = async (
  jwt: string | null,
  signingKey: string,
  request: { url: string; body: string },
  now: number,
): Promise<boolean> => {
  const parts = jwt?.split('.')
  if (parts === undefined || parts.length !== 3) return false
  const [headerPart, claimsPart, signaturePart] = parts as [string, string, string]
  const header = json(headerPart)
  const hash =
    typeof header?.alg === 'string' && Object.hasOwn(ALGORITHMS, header.alg) ? ALGORITHMS[header.alg] : undefined
  if (hash === undefined) return false
  const expected = base64url(await hmac(hash, signingKey, `${headerPart}.${claimsPart}`))
  if (!constantTimeEqual(signaturePart, expected)) return false
  const claims = json(claimsPart)
  if (claims === undefined || claims.iss !== 'MessageBird') return false
  const seconds = now / 1000
  const { nbf, exp, jti } = claims
  if (typeof exp !== 'number' || exp <= seconds - MESSAGEBIRD_LEEWAY_SECONDS) return false
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > seconds + MESSAGEBIRD_LEEWAY_SECONDS)) return false
  if (typeof jti !== 'string' || jti === '') return false
  if (typeof claims.url_hash !== 'string') return false
  if (!constantTimeEqual(claims.url_hash.toLowerCase(), await sha256Hex(request.url))) return false
  if (claims.payload_hash !== undefined) {
    return (
      typeof claims.payload_hash === 'string' &&
      constantTimeEqual(claims.payload_hash.toLowerCase(), await sha256Hex(request.body))
    )
  }
  // A body MessageBird did not sign could be anyone's.
  return request.body === ''
}

const parse = (request: ReceiptRequest, now: number): ParsedReceipts | undefined => {
  const { query } = request
  const id = query.get('id')
  const word = query.get('status') ?? ''
  const status = STATUSES.get(word)
  if (!id || status === undefined) return { updates: [], malformed: 1 }
  const reference = query.get('reference') || undefined
  return {
    updates: [
      {
        provider: 'messagebird',
        ...(reference === undefined ? {} : { reference }),
        vendorMessageId: id,
        status,
        // Its error code says why a message failed; without one, MessageBird's own word for the status.
        vendorCode: query.get('statusErrorCode') || word,
        at: rfc3339(query.get('statusDatetime')) ?? now,
      },
    ],
    malformed: 0,
  }
}

/**
 * MessageBird's reports, at the token path: with SMS_HOOK_PUBLIC_URL and SMS_HOOK_RECEIPTS_TOKEN set (without
 * them no message asks for any), and the messagebird provider configured.
 */
export const messagebirdReceipts = (config: Config): ReceiptVendor | undefined => {
  const { enabled, publicUrl, receiptsToken, messagebirdSigningKey } = config.delivery
  const configured = config.routing.providers.some((provider) => provider.name === 'messagebird')
  if (!configured || !enabled || publicUrl === undefined || receiptsToken === undefined) return undefined
  return {
    provider: 'messagebird',
    auth: 'token',
    methods: ['GET'],
    maxBodyBytes: MAX_BODY_BYTES,
    ...(messagebirdSigningKey === undefined
      ? {}
      : {
          verify: (request: ReceiptRequest, now: number) =>
            verifyMessageBirdJwt(request.headers.get('messagebird-signature-jwt'), messagebirdSigningKey, request, now),
        }),
    parse,
    answer: () => new Response(null, { status: 200 }),
  }
}
