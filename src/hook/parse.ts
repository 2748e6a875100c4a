import * as z from 'zod/mini'
import { MESSAGES, refused, type Refused } from '../outcome.js'

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
   * `metadata.ip_address` (v2.187+): the end user's address as GoTrue saw it, for the guard's per-IP limit. The
   * address GoTrue's own call comes from is GoTrue's, not the user's.
   */
  ip: string | undefined
}

export type ParseResult =
  | { ok: true; payload: HookPayload }
  | { ok: false; hasMetadata: boolean; refusal: Refused; reason: string }

/**
 * Reads a verified body. The destination is the first non-empty of `sms.phone`, `user.new_phone` and
 * `user.phone` (on a phone change `user.phone` is the old number); an invalid one is refused, never replaced by
 * the next field, which could be a number the user no longer owns.
 */
export const parsePayload = (body: string): ParseResult => {
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    return invalid(false, 'body is not JSON')
  }
  const metadata = typeof json === 'object' && json !== null ? (json as Record<string, unknown>).metadata : undefined
  const hasMetadata = isObject(metadata)
  const parsed = payloadSchema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    return invalid(hasMetadata, `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`)
  }
  const { sms, user } = parsed.data
  const phone = firstNonEmpty(sms.phone, user?.new_phone, user?.phone)
  if (phone === undefined) return invalid(hasMetadata, 'no phone number in sms.phone, user.new_phone or user.phone')
  return {
    ok: true,
    payload: {
      hasMetadata,
      uuid: parsed.data.metadata?.uuid || undefined,
      otp: sms.otp,
      phone,
      smsType: sms.sms_type === 'mfa' ? 'mfa' : 'sms',
      ip: ipAddressOf(metadata),
    },
  }
}

const invalid = (hasMetadata: boolean, reason: string): ParseResult => ({
  ok: false,
  hasMetadata,
  refusal: refused(400, 'invalid_payload', MESSAGES.invalidPayload),
  reason,
})

/**
 * `metadata.ip_address`, for the guard's per-IP limit only: read outside the schema because an odd value must not
 * cost the user the OTP, and zod's `catch`, which would say so in the schema, adds 4 KiB gzip to the Worker.
 */
const ipAddressOf = (metadata: unknown): string | undefined => {
  const ip = isObject(metadata) ? (metadata as Record<string, unknown>).ip_address : undefined
  return typeof ip === 'string' ? ip.trim() || undefined : undefined
}

const isObject = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value)

const firstNonEmpty = (...values: (string | null | undefined)[]): string | undefined =>
  values.find((v): v is string => typeof v === 'string' && v !== '')
