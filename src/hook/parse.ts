import * as z from 'zod/mini'
import { MESSAGES, refused, type Refused } from '../outcome.js'
import { isRecord } from '../record.js'

const optionalText = z.optional(z.nullable(z.string()))

/**
 * What we read of GoTrue's payload. `user` is GoTrue's whole user record: only the phone fields are checked and
 * every other field is accepted unread (zod's default object mode ignores unknown keys rather than copying them
 * as a loose object would, which matters for large user records), so new GoTrue fields never break the hook.
 */
const payloadSchema = z.object({
  metadata: z.optional(z.nullable(z.object({ uuid: optionalText }))),
  user: z.optional(z.nullable(z.object({ phone: optionalText, new_phone: optionalText }))),
  sms: z.object({
    otp: z.string().check(z.regex(/^\d{6,10}$/)),
    phone: optionalText,
    sms_type: optionalText,
  }),
})

export interface HookPayload {
  /** GoTrue v2.187+ sends `metadata` and honours error objects in 200 answers; older versions do neither. */
  hasMetadata: boolean
  /** `metadata.uuid`: the same on every retry of one hook call. */
  uuid: string | undefined
  otp: string
  /** The destination as GoTrue wrote it; `phone/e164.ts` reads it. */
  phone: string
  /** `mfa` for an MFA challenge, otherwise `sms`. */
  smsType: 'sms' | 'mfa'
  /**
   * `metadata.time` (v2.187+) in epoch milliseconds: GoTrue's time of the call, set once when it builds the payload
   * and so the same on all its retries (the body is byte-identical). GoTrue's one 5 s budget for every attempt runs
   * from it, on GoTrue's clock. Undefined before v2.187 or when unreadable: the call is still served.
   */
  time: number | undefined
  /**
   * `metadata.ip_address` (v2.187+): the end user's address as GoTrue saw it, for the guard's per-IP limit. The
   * address GoTrue's own call comes from is GoTrue's, not the user's.
   */
  ip: string | undefined
}

export type ParseResult = { ok: true; payload: HookPayload } | ({ ok: false } & PayloadRefusal)

/** A body refused as no hook payload, with what it did name so that the refusal's log line can say whose it was. */
export interface PayloadRefusal {
  hasMetadata: boolean
  refusal: Refused
  reason: string
  /** `metadata.uuid` when the body has one, for the idempotency key. */
  uuid: string | undefined
  /** The destination the payload would have had (as GoTrue wrote it), when the body names one. */
  phone: string | undefined
}

/**
 * Reads a verified body. The destination is the first non-empty of `sms.phone`, `user.new_phone` and
 * `user.phone` (on a phone change `user.phone` is the old number); an invalid one is refused, never replaced by
 * the next field, which could be a number the user no longer owns. An MFA challenge without `sms.phone` (GoTrue
 * before v2.180) goes to a phone factor of `user.factors` or is refused: `user.phone` is the sign-in number, not
 * necessarily the factor's, and a second factor's code must reach the second factor.
 */
export const parsePayload = (body: string): ParseResult => {
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    return { ok: false, ...invalid(false, 'body is not JSON'), uuid: undefined, phone: undefined }
  }
  const metadata = isRecord(json) ? json.metadata : undefined
  const hasMetadata = isRecord(metadata)
  /** A refusal of this body, with what it names read leniently: the schema has just said it may be anything. */
  const refuse = (reason: string): ParseResult => ({
    ok: false,
    ...invalid(hasMetadata, reason),
    uuid: hasMetadata ? firstNonEmpty(text(metadata.uuid)) : undefined,
    phone: destinationOf(json),
  })
  const parsed = payloadSchema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    return refuse(`${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`)
  }
  const { sms } = parsed.data
  const smsType = sms.sms_type === 'mfa' ? 'mfa' : 'sms'
  // The schema has checked the phone fields: the lenient reading of a refused body reads them the same way.
  const phone = destinationOf(json)
  if (phone === undefined) {
    return refuse(
      smsType === 'mfa'
        ? 'MFA challenge with no phone number in sms.phone or user.factors'
        : 'no phone number in sms.phone, user.new_phone or user.phone',
    )
  }
  return {
    ok: true,
    payload: {
      hasMetadata,
      uuid: parsed.data.metadata?.uuid || undefined,
      otp: sms.otp,
      phone,
      smsType,
      ip: ipAddressOf(metadata),
      time: timeOf(metadata),
    },
  }
}

const invalid = (hasMetadata: boolean, reason: string) => ({
  hasMetadata,
  refusal: refused(400, 'invalid_payload', MESSAGES.invalidPayload),
  reason,
})

/**
 * The destination: an MFA challenge's `sms.phone` or phone factor; otherwise the first non-empty of `sms.phone`,
 * `user.new_phone`, `user.phone`. Read from whichever fields are strings, so that it serves a body the schema
 * refused (for its log line) as well as one it accepted.
 */
const destinationOf = (json: unknown): string | undefined => {
  const sms = isRecord(json) && isRecord(json.sms) ? json.sms : {}
  const user = isRecord(json) ? json.user : undefined
  if (sms.sms_type === 'mfa') return firstNonEmpty(text(sms.phone)) ?? phoneFactorOf(user)
  const fields = isRecord(user) ? user : {}
  return firstNonEmpty(text(sms.phone), text(fields.new_phone), text(fields.phone))
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)

/**
 * `metadata.ip_address`, for the guard's per-IP limit only: read outside the schema because an odd value must not
 * cost the user the OTP, and zod's `catch`, which would say so in the schema, adds 4 KiB gzip to the Worker.
 */
const ipAddressOf = (metadata: unknown): string | undefined => {
  const ip = isRecord(metadata) ? metadata.ip_address : undefined
  return typeof ip === 'string' ? ip.trim() || undefined : undefined
}

/**
 * RFC 3339 as Go's `time.RFC3339Nano` writes it: 0 to 9 fractional digits (trailing zeros dropped), `Z` or an
 * offset. Anything else is refused here rather than left to `Date.parse`, whose reading of other forms is
 * implementation-defined (a string without a zone is even read as local time).
 */
const RFC3339 = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/

/**
 * `metadata.time` in epoch milliseconds, read outside the schema for the same reason as `ipAddressOf`: a bad value
 * only costs the deadline its anchor (the handler then counts from arrival), never the user the OTP.
 */
const timeOf = (metadata: unknown): number | undefined => epochMsOf(isRecord(metadata) ? metadata.time : undefined)

/**
 * An RFC 3339 time in epoch milliseconds. V8 (Node and workerd alike) parses 9 fractional digits, but ECMAScript
 * only promises the form with exactly 3, so the fraction is cut or padded to milliseconds first.
 */
const epochMsOf = (time: unknown): number | undefined => {
  const match = typeof time === 'string' ? RFC3339.exec(time) : null
  if (match === null) return undefined
  const [, date, clock, fraction = '', zone] = match
  const ms = Date.parse(`${date}T${clock}.${fraction.slice(0, 3).padEnd(3, '0')}${zone === 'z' ? 'Z' : zone}`)
  return Number.isNaN(ms) ? undefined : ms
}

/**
 * The destination of an MFA challenge from GoTrue before v2.180, which names the challenged factor nowhere: the
 * only phone factor, else the most recently updated verified one (a challenge to sign in), else the most recently
 * updated one. Read leniently outside the schema: entries that are not objects, not phone factors or have no phone
 * are skipped, a missing `status` counts as unverified and a missing or odd `updated_at` as oldest; on a tie the
 * first in GoTrue's order wins.
 */
const phoneFactorOf = (user: unknown): string | undefined => {
  const factors = isRecord(user) ? user.factors : undefined
  if (!Array.isArray(factors)) return undefined
  let best: { phone: string; verified: boolean; updated: number } | undefined
  for (const factor of factors as unknown[]) {
    if (!isRecord(factor)) continue
    const { factor_type, phone, status, updated_at } = factor as Record<string, unknown>
    if (factor_type !== 'phone' || typeof phone !== 'string' || phone === '') continue
    const verified = status === 'verified'
    const updated = epochMsOf(updated_at) ?? -Infinity
    if (best === undefined || (verified && !best.verified) || (verified === best.verified && updated > best.updated)) {
      best = { phone, verified, updated }
    }
  }
  return best?.phone
}

const firstNonEmpty = (...values: (string | null | undefined)[]): string | undefined =>
  values.find((v): v is string => typeof v === 'string' && v !== '')
