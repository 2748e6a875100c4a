/**
 * GoTrue's calls, made and signed before a measurement starts, so that the load generator only writes bytes.
 *
 * Every body is GoTrue's own (`test/fixtures/gotrue/signup.json`) with its own `metadata.uuid` (its idempotency
 * key), OTP, phone number and client address: no call replays another, and no per-number or per-address limit
 * of the service sees the same user twice in a way a real crowd would not. Signatures are made as GoTrue makes
 * them (HMAC-SHA256 over `id.timestamp.body`, `v1,<base64>`), with the timestamp of when the batch is made; a
 * batch is made just before the phase that sends it, well inside the service's 5-minute window.
 */
import { createHmac, randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '..')
const KEY = Buffer.alloc(32, 42)
/** The value of GOTRUE_HOOK_SEND_SMS_SECRETS for every hook the benchmark starts. */
export const SECRET = `v1,whsec_${KEY.toString('base64')}`

const TEMPLATE = readFileSync(resolve(ROOT, 'test/fixtures/gotrue/signup.json'), 'utf8').trim()
const FIXTURE = {
  uuid: '9f1c2a57-5a4b-4c1e-9d1e-0c7a1e2b3c4d',
  otp: '"otp":"482913"',
  phone: '8613800138000',
  ip: '203.0.113.7',
}
for (const [name, value] of Object.entries(FIXTURE)) {
  if (!TEMPLATE.includes(value)) throw new Error(`signup.json no longer contains its ${name} (${value})`)
}

/** One call, ready to send: its body and GoTrue's headers. */
export interface SignedCall {
  body: Buffer
  headers: Record<string, string>
  /** The destination (E.164 digits), unique per body: what a fake vendor counts sends by. */
  phone: string
  /** `metadata.uuid`, the service's idempotency key. */
  uuid: string
}

/** Distinct users across the whole run (a counter, not random, so no two calls of a run share one). */
let nextUser = 0

/**
 * The n-th user: a mainland mobile `8613` + 9 digits, and a client address in 198.18.0.0/15 (the range set
 * aside for benchmarks; it only appears inside the body, nothing is sent to it).
 */
const user = (n: number) => ({
  phone: `8613${String(n % 1e9).padStart(9, '0')}`,
  ip: `198.${18 + ((n >> 16) & 1)}.${(n >> 8) & 255}.${n & 255}`,
  otp: String(100000 + (n % 900000)),
})

/** A GoTrue body for a fresh user: unique uuid, OTP, phone and address. */
export const freshBody = (): { body: string; phone: string; uuid: string } => {
  const n = nextUser++
  const { phone, ip, otp } = user(n)
  const uuid = randomUUID()
  const body = TEMPLATE.replace(FIXTURE.uuid, uuid)
    .replace(FIXTURE.otp, `"otp":"${otp}"`)
    .replaceAll(FIXTURE.phone, phone)
    .replace(FIXTURE.ip, ip)
  return { body, phone, uuid }
}

/**
 * GoTrue's headers for `body`: a new `webhook-id` each time (as on each of GoTrue's retries) and the timestamp
 * `clockOffsetMs` ahead of this machine's clock (0, except against a server whose clock was moved on purpose).
 */
export const sign = (body: string, clockOffsetMs = 0): Record<string, string> => {
  const id = `msg_${randomUUID()}`
  const timestamp = Math.floor((Date.now() + clockOffsetMs) / 1000)
  const signature = createHmac('sha256', KEY).update(`${id}.${timestamp}.${body}`).digest('base64')
  return {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': `v1,${signature}`,
  }
}

/** `count` calls of distinct users, signed now (plus `clockOffsetMs`). */
export const signedCalls = (count: number, clockOffsetMs = 0): SignedCall[] => {
  const calls: SignedCall[] = new Array(count)
  for (let i = 0; i < count; i++) {
    const { body, phone, uuid } = freshBody()
    calls[i] = { body: Buffer.from(body), headers: sign(body, clockOffsetMs), phone, uuid }
  }
  return calls
}

/** The same call signed again, as GoTrue's retry (or a second replica's copy) would carry it: same body, new id. */
export const resigned = (call: SignedCall): SignedCall => ({ ...call, headers: sign(call.body.toString()) })
