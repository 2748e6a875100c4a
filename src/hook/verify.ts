import { Webhook } from 'standardwebhooks'
import type { Clock } from '../clock.js'
import { constantTimeEqual } from '../digest.js'
import { SignatureError } from '../errors.js'
import { DEFAULT_SIGNATURE_TOLERANCE_MS } from './config.js'

/** Where the `webhook-*` headers come from: a `Headers`, or a runtime's cheaper view of the same request. */
export interface HeaderSource {
  get(name: string): string | null | undefined
}

/** The `v1` signature of one message: base64 of HMAC-SHA256 over `${id}.${timestamp}.${body}`. */
export type Signer = (id: string, timestamp: number, body: string) => string

/** Makes the signer for one secret (the decoded bytes after `whsec_`). */
export type SignerFactory = (secret: Uint8Array) => Signer

/**
 * The `standardwebhooks` library's signer: the reference implementation of the scheme, and the default on every
 * runtime. Its SHA-256 is plain JavaScript, so the Node entry passes its native HMAC instead (`src/node/signer.ts`,
 * checked against this one in the tests): about 2 us a request instead of 13.
 */
export const standardWebhooksSigner: SignerFactory = (secret) => {
  const webhook = new Webhook(secret, { format: 'raw' })
  return (id, timestamp, body) => webhook.sign(id, new Date(timestamp * 1000), body).slice('v1,'.length)
}

/** What the HMAC step needs from the `webhook-*` headers, once they have passed the cheap checks. */
export interface SignatureHeaders {
  id: string
  /** `webhook-timestamp` in Unix seconds, within the tolerance of the clock. */
  seconds: number
  /** `webhook-signature` as sent. */
  signature: string
}

/**
 * The checks of a signed call that cost nothing: the three `webhook-*` headers present and the timestamp all
 * digits and at most `toleranceMs` from the clock, either way (`SMS_HOOK_SIGNATURE_TOLERANCE`; Standard Webhooks'
 * 5 minutes by default). The handler runs them before it reads the body, so a call without them (anyone may send
 * up to MAX_BODY_BYTES of junk) costs neither a body read nor an HMAC.
 *
 * Done here rather than by the library's `verify()`, which reads `Date.now()` instead of the injected clock,
 * accepts timestamps such as "123abc" (parseInt), and has a fixed 5 minutes where we may have less. Nothing here
 * calls `verify()`: the library only computes HMACs (`sign()`, which looks at no clock), so this is the one check
 * of the timestamp, and a call it refuses never reaches one that would allow more.
 *
 * @throws SignatureError (missing_headers, invalid_timestamp, timestamp_too_old, timestamp_too_new)
 */
export const checkSignatureHeaders = (
  headers: HeaderSource,
  clock: Clock,
  toleranceMs: number = DEFAULT_SIGNATURE_TOLERANCE_MS,
): SignatureHeaders => {
  const id = headers.get('webhook-id')
  const timestamp = headers.get('webhook-timestamp')
  const signature = headers.get('webhook-signature')
  if (!id || !timestamp || !signature) throw new SignatureError('missing_headers')
  if (!/^\d{1,12}$/.test(timestamp)) throw new SignatureError('invalid_timestamp')
  const seconds = Number(timestamp)
  // In whole seconds, as the header counts: a timestamp exactly the tolerance away is still taken, whatever
  // fraction of the current second has passed.
  const now = Math.floor(clock.now() / 1000)
  const tolerance = toleranceMs / 1000
  if (now - seconds > tolerance) throw new SignatureError('timestamp_too_old')
  if (seconds - now > tolerance) throw new SignatureError('timestamp_too_new')
  return { id, seconds, signature }
}

/**
 * Builds the HMAC step: checks the body against headers that passed `checkSignatureHeaders`, accepting a
 * signature by any of `secrets` (rotation).
 *
 * The HMAC comes from `signer` (the `standardwebhooks` library unless the runtime has a faster one); the header
 * is split here because the library splits on single spaces only, while GoTrue joins entries with ", ".
 *
 * @returns a function that returns the body as text when the signature holds and throws `SignatureError`
 *   (invalid_body_encoding, no_matching_signature) otherwise.
 */
export const createBodyVerifier = (secrets: readonly Uint8Array[], signer: SignerFactory = standardWebhooksSigner) => {
  if (secrets.length === 0) throw new Error('createSignatureVerifier needs at least one secret')
  const signers = secrets.map(signer)
  // fatal: a body that is not UTF-8 cannot have been signed as text by GoTrue (Go's json.Marshal emits UTF-8);
  // ignoreBOM: keep every byte, so the text re-encodes to exactly what was signed.
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

  return function verifyBody({ id, seconds, signature }: SignatureHeaders, body: Uint8Array): string {
    let text: string
    try {
      text = decoder.decode(body)
    } catch {
      throw new SignatureError('invalid_body_encoding')
    }
    const offered = v1Signatures(signature)
    if (offered.length > 0) {
      for (const sign of signers) {
        const expected = sign(id, seconds, text)
        // Every offered signature is compared in full, so timing tells nothing about which one matched.
        let match = false
        for (const candidate of offered) match = constantTimeEqual(candidate, expected) || match
        if (match) return text
      }
    }
    throw new SignatureError('no_matching_signature')
  }
}

/**
 * Both steps in one, headers then body: for callers that hold the body already (tests, the signer's checks),
 * with the same `toleranceMs` as `checkSignatureHeaders`. The handler runs them apart, with the body read between.
 *
 * @returns a function that returns the body as text when the signature holds and throws `SignatureError` otherwise.
 */
export const createSignatureVerifier = (
  secrets: readonly Uint8Array[],
  clock: Clock,
  signer: SignerFactory = standardWebhooksSigner,
  toleranceMs: number = DEFAULT_SIGNATURE_TOLERANCE_MS,
) => {
  const verifyBody = createBodyVerifier(secrets, signer)
  return function verifySignature(headers: HeaderSource, body: Uint8Array): string {
    return verifyBody(checkSignatureHeaders(headers, clock, toleranceMs), body)
  }
}

/**
 * The `v1` signatures of a header. Entries are `v1,<base64>`; base64 has neither spaces nor commas, so splitting
 * on white space and dropping a trailing comma reads both GoTrue's `", "` joins and the spec's `" "` joins.
 */
const v1Signatures = (header: string): string[] => {
  const signatures: string[] = []
  for (const entry of header.split(/\s+/)) {
    if (!entry.startsWith('v1,')) continue
    signatures.push(entry.endsWith(',') ? entry.slice(3, -1) : entry.slice(3))
  }
  return signatures
}
