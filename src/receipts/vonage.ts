/**
 * Vonage's SMS API delivery receipts: GET or POST (form or JSON, as the account's webhook method is set) to
 * `/receipts/vonage/<token>`, the `callback` each message named (providers/vonage.ts), with `messageId`,
 * `status`, `err-code`, `client-ref` (our reference) and `scts`. The path token guards the route; with
 * SMS_HOOK_VONAGE_SIGNATURE_SECRET set, the receipt's own `sig` is checked too.
 */
import type { Config } from '../config/index.js'
import { constantTimeEqual, hex, hmac, type HmacHash } from '../digest.js'
import type { VonageSignatureMethod } from '../delivery/config.js'
import type { DeliveryStatus } from '../delivery/types.js'
import { hmacMd5Digest, md5Digest } from '#md5'
import { isRecord } from '../record.js'
import { compactUtc } from './times.js'
import type { ParsedReceipts, ReceiptRequest, ReceiptVendor } from './types.js'

/** `status` values (Vonage's delivery receipt reference); `unknown` moves nothing and is not counted malformed. */
const STATUSES = new Map<string, DeliveryStatus | 'ignored'>([
  ['accepted', 'accepted'],
  ['buffered', 'sent'],
  ['delivered', 'delivered'],
  ['expired', 'expired'],
  ['failed', 'failed'],
  ['rejected', 'failed'],
  ['unknown', 'ignored'],
])

/** A receipt is a dozen short parameters. */
const MAX_BODY_BYTES = 8 * 1024

/**
 * How far a signed receipt's `timestamp` may be from now: a captured receipt cannot be replayed later, and a
 * clock a little off still passes. Vonage signs each push when it makes it, retries included.
 */
export const VONAGE_TIMESTAMP_TOLERANCE_MS = 5 * 60_000

const HMACS: Record<Exclude<VonageSignatureMethod, 'md5hash' | 'md5'>, HmacHash> = {
  sha1: 'SHA-1',
  sha256: 'SHA-256',
  sha512: 'SHA-512',
}

const encoder = new TextEncoder()

/**
 * The receipt's parameters, from wherever the account's webhook method puts them: the query (GET), a form, or a
 * JSON object (POST-JSON). Undefined when a POST body is neither.
 */
export const vonageParams = (request: ReceiptRequest): Map<string, string> | undefined => {
  if (request.method === 'GET' || request.body === '') return new Map(request.query)
  if (request.form !== undefined) return new Map(request.form)
  let json: unknown
  try {
    json = JSON.parse(request.body)
  } catch {
    return undefined
  }
  if (!isRecord(json)) return undefined
  const params = new Map<string, string>()
  for (const [name, value] of Object.entries(json)) {
    if (typeof value === 'string') params.set(name, value)
    else if (typeof value === 'number' || typeof value === 'boolean') params.set(name, String(value))
  }
  return params
}

/**
 * Vonage's signature of a parameter set (its "signing messages" guide): every parameter but `sig`, sorted by
 * name, as `&name=value` with each `&` and `=` in a value made `_`; `md5hash` is the MD5 of that followed by
 * the secret, the others an HMAC keyed by the secret. Lowercase hex (Vonage sends HMACs in uppercase).
 */
export const vonageSignature = async (
  params: ReadonlyMap<string, string>,
  secret: string,
  method: VonageSignatureMethod,
): Promise<string> => {
  const base = [...params.keys()]
    .filter((name) => name !== 'sig')
    .sort()
    .map((name) => `&${name}=${params.get(name)!.replace(/[&=]/g, '_')}`)
    .join('')
  if (method === 'md5hash') return hex(await md5Digest(encoder.encode(base + secret)))
  // WebCrypto's HMAC takes no MD5: it is built on the digest (`#md5`: computed on Node, the runtime's on Workers).
  if (method === 'md5') return hex(await hmacMd5Digest(encoder.encode(secret), encoder.encode(base)))
  return hex(await hmac(HMACS[method], secret, base))
}

export const verifyVonageSignature = async (
  params: ReadonlyMap<string, string>,
  signature: { secret: string; method: VonageSignatureMethod },
  now: number,
): Promise<boolean> => {
  const sig = params.get('sig')
  const timestamp = params.get('timestamp')
  if (!sig || timestamp === undefined || !/^\d{1,12}$/.test(timestamp)) return false
  if (Math.abs(Number(timestamp) * 1000 - now) > VONAGE_TIMESTAMP_TOLERANCE_MS) return false
  return constantTimeEqual(sig.toLowerCase(), await vonageSignature(params, signature.secret, signature.method))
}

const parse = (request: ReceiptRequest, now: number): ParsedReceipts | undefined => {
  const params = vonageParams(request)
  if (params === undefined) return undefined
  const messageId = params.get('messageId')
  const word = params.get('status')
  const status = word === undefined ? undefined : STATUSES.get(word)
  if (!messageId || status === undefined) return { updates: [], malformed: 1 }
  // Vonage has no word on the message yet: nothing to move, and nothing wrong with the receipt.
  if (status === 'ignored') return { updates: [], malformed: 0 }
  const reference = params.get('client-ref') || undefined
  const errCode = params.get('err-code') || undefined
  return {
    updates: [
      {
        provider: 'vonage',
        ...(reference === undefined ? {} : { reference }),
        vendorMessageId: messageId,
        status,
        // `err-code` says why (0 when delivered); without one, Vonage's own word for the status.
        vendorCode: errCode ?? word!,
        at: compactUtc(params.get('scts')) ?? now,
      },
    ],
    malformed: 0,
  }
}

/**
 * Vonage's receipts, at the token path: with SMS_HOOK_PUBLIC_URL and SMS_HOOK_RECEIPTS_TOKEN set (without them
 * no message asks for one), and the vonage provider configured.
 */
export const vonageReceipts = (config: Config): ReceiptVendor | undefined => {
  const { enabled, publicUrl, receiptsToken, vonageSignature: signature } = config.delivery
  const configured = config.routing.providers.some((provider) => provider.name === 'vonage')
  if (!configured || !enabled || publicUrl === undefined || receiptsToken === undefined) return undefined
  return {
    provider: 'vonage',
    auth: 'token',
    methods: ['GET', 'POST'],
    maxBodyBytes: MAX_BODY_BYTES,
    ...(signature === undefined
      ? {}
      : {
          verify: async (request: ReceiptRequest, now: number) => {
            const params = vonageParams(request)
            return params !== undefined && verifyVonageSignature(params, signature, now)
          },
        }),
    parse,
    answer: () => new Response(null, { status: 204 }),
  }
}
