/**
 * Signs requests the way GoTrue does, with node:crypto: independent of the code under test, which signs with
 * the `standardwebhooks` library.
 */
import { createHmac, randomUUID } from 'node:crypto'

/** A fixed secret in GoTrue's form (32 bytes). */
export const SECRET = 'v1,whsec_' + Buffer.alloc(32, 7).toString('base64')
/** A second secret, for rotations. */
export const OTHER_SECRET = 'v1,whsec_' + Buffer.alloc(32, 9).toString('base64')

const keyOf = (secret: string) => Buffer.from(secret.replace(/^v1,/, '').replace(/^whsec_/, ''), 'base64')

/** `v1,<base64 HMAC-SHA256 of id.timestamp.body>` */
export const signature = (secret: string, id: string, timestamp: number | string, body: string | Uint8Array) =>
  'v1,' + createHmac('sha256', keyOf(secret)).update(`${id}.${timestamp}.`).update(body).digest('base64')

export interface SignOptions {
  secrets?: string[]
  id?: string
  /** Unix seconds; now by default. */
  timestamp?: number | string
  /** GoTrue joins entries with ", "; the spec with " ". */
  join?: string
}

/** The three `webhook-*` headers plus the JSON content type GoTrue sends. */
export const gotrueHeaders = (body: string | Uint8Array, options: SignOptions = {}): Record<string, string> => {
  const id = options.id ?? randomUUID()
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000)
  const secrets = options.secrets ?? [SECRET]
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': secrets.map((s) => signature(s, id, timestamp, body)).join(options.join ?? ', '),
  }
}

/** A signed `POST /send-sms` request init. */
export const signedPost = (body: string, options: SignOptions = {}): RequestInit => ({
  method: 'POST',
  headers: gotrueHeaders(body, options),
  body,
})

/** `SMS_HOOK_INBOX_TOKEN` of the tests' production apps and Workers. */
export const INBOX_TOKEN = 'test-inbox-token-0123456789'
