import { Webhook } from 'standardwebhooks'
import type { Clock } from '../clock.js'

/** Standard Webhooks' replay window, in both directions. */
export const TOLERANCE_SECONDS = 5 * 60

export type SignatureFailure =
  | 'missing_headers'
  | 'invalid_timestamp'
  | 'timestamp_too_old'
  | 'timestamp_too_new'
  | 'invalid_body_encoding'
  | 'no_matching_signature'

/** A request that is not provably from GoTrue. The reason goes to the log, never to the caller. */
export class SignatureError extends Error {
  override readonly name = 'SignatureError'
  constructor(readonly reason: SignatureFailure) {
    super(reason)
  }
}

export const isSignatureError = (e: unknown): e is SignatureError =>
  e instanceof Error && e.name === 'SignatureError'

/**
 * Builds the verifier for GoTrue's `webhook-*` headers, accepting a signature by any of `secrets` (rotation).
 *
 * The HMAC comes from the `standardwebhooks` library (`Webhook#sign`); the rest is done here on purpose, because
 * the library's `verify()` reads `Date.now()` instead of the injected clock, accepts timestamps such as "123abc"
 * (parseInt), and splits the signature header on single spaces only, while GoTrue joins entries with ", ".
 *
 * @returns a function that returns the body as text when the signature holds and throws `SignatureError` otherwise.
 */
export const createSignatureVerifier = (secrets: readonly Uint8Array[], clock: Clock) => {
  if (secrets.length === 0) throw new Error('createSignatureVerifier needs at least one secret')
  const webhooks = secrets.map((key) => new Webhook(key, { format: 'raw' }))
  // fatal: a body that is not UTF-8 cannot have been signed as text by GoTrue (Go's json.Marshal emits UTF-8);
  // ignoreBOM: keep every byte, so the text re-encodes to exactly what was signed.
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

  return function verifySignature(headers: Headers, body: Uint8Array): string {
    const id = headers.get('webhook-id')
    const timestamp = headers.get('webhook-timestamp')
    const header = headers.get('webhook-signature')
    if (!id || !timestamp || !header) throw new SignatureError('missing_headers')
    if (!/^\d{1,12}$/.test(timestamp)) throw new SignatureError('invalid_timestamp')
    const seconds = Number(timestamp)
    const now = Math.floor(clock.now() / 1000)
    if (now - seconds > TOLERANCE_SECONDS) throw new SignatureError('timestamp_too_old')
    if (seconds - now > TOLERANCE_SECONDS) throw new SignatureError('timestamp_too_new')

    let text: string
    try {
      text = decoder.decode(body)
    } catch {
      throw new SignatureError('invalid_body_encoding')
    }
    const offered = v1Signatures(header)
    if (offered.length > 0) {
      const signedAt = new Date(seconds * 1000)
      for (const webhook of webhooks) {
        const expected = encoder.encode(webhook.sign(id, signedAt, text).slice('v1,'.length))
        if (offered.some((candidate) => timingSafeEqual(encoder.encode(candidate), expected))) return text
      }
    }
    throw new SignatureError('no_matching_signature')
  }
}

export type SignatureVerifier = ReturnType<typeof createSignatureVerifier>

const encoder = new TextEncoder()

/**
 * The `v1` signatures of a header. Entries are `v1,<base64>`; base64 has neither spaces nor commas, so splitting
 * on white space and dropping a trailing comma reads both GoTrue's `", "` joins and the spec's `" "` joins.
 */
const v1Signatures = (header: string): string[] =>
  header
    .split(/\s+/)
    .map((entry) => entry.replace(/,$/, ''))
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => entry.slice(3))

/** Compares in time independent of where the inputs differ. Lengths are public (a signature's length is fixed). */
const timingSafeEqual = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}
