import { createHmac, randomUUID } from 'node:crypto'
import { parseSecrets } from '../hook/config.js'
import { isRecord } from '../record.js'
import { httpUrl, parseOptions, UsageError } from './args.js'
import { AnswerLost, whyUnanswered } from './unreachable.js'

export const SEND_TEST_HELP = `Usage: sms-hook send-test --url URL --secret SECRET --phone NUMBER [options]

Send one hook call signed exactly as GoTrue signs it, print the HTTP status and the answer.

  --url URL          the hook URL (https://sms.example.com/send-sms); a bare origin gets /send-sms
  --secret SECRET    GOTRUE_HOOK_SEND_SMS_SECRETS as GoTrue has it (several joined by |)
  --phone NUMBER     the user's number, E.164 (8613800138000 or +8613800138000)
  --otp CODE         the code to send, 6 to 10 digits (default 123456)
  --mfa              an MFA challenge (sms_type "mfa") to the phone factor --phone
  --new-phone NUMBER a phone change: the code goes to NUMBER, the new number, not to --phone
  --legacy           the payload of GoTrue before v2.180: no metadata (errors come as HTTP statuses), no
                     sms.phone (a phone change names the number in user.new_phone only, an MFA challenge in
                     user.factors)

Exit status: 0 when the hook answered success as GoTrue reads it, 1 when it answered anything else or could not
be reached (the cause is printed: connection refused, a TLS error...), 2 on wrong usage.`

const OPTIONS = {
  url: { type: 'string' },
  secret: { type: 'string' },
  phone: { type: 'string' },
  otp: { type: 'string' },
  mfa: { type: 'boolean' },
  'new-phone': { type: 'string' },
  legacy: { type: 'boolean' },
} as const

/** GoTrue answers within 5 s; twice that tells a slow hook from one that never answers. */
const TIMEOUT_MS = 10_000

/** What kind of SMS the test call asks for: a sign-in code, an MFA challenge, or a phone change. */
export type TestCall =
  | { kind: 'sms'; phone: string }
  | { kind: 'mfa'; phone: string }
  | { kind: 'phone_change'; phone: string; newPhone: string }

/**
 * A GoTrue-shaped payload (docs/gotrue-contract.md) in the compact form Go's json.Marshal writes, fields in
 * GoTrue's order. The destination is where GoTrue puts it: `sms.phone` (v2.180+), on a phone change also
 * `user.new_phone` with the old number left in `user.phone`, and before v2.180 an MFA challenge names its number
 * only in `user.factors`.
 */
const testPayload = (call: TestCall, otp: string, legacy: boolean, now = new Date()): string => {
  const at = now.toISOString()
  const user = {
    id: randomUUID(),
    aud: 'authenticated',
    role: 'authenticated',
    email: '',
    phone: call.phone,
    ...(call.kind === 'phone_change' ? { new_phone: call.newPhone, phone_change_sent_at: at } : {}),
    app_metadata: { provider: 'phone', providers: ['phone'] },
    user_metadata: {},
    identities: [],
    created_at: at,
    updated_at: at,
    is_anonymous: false,
    ...(call.kind === 'mfa' && legacy ? { factors: [phoneFactor(call.phone, at)] } : {}),
  }
  const sms = {
    otp,
    ...(call.kind === 'mfa' ? { sms_type: 'mfa' } : {}),
    ...(legacy ? {} : { phone: call.kind === 'phone_change' ? call.newPhone : call.phone }),
  }
  if (legacy) return JSON.stringify({ user, sms })
  const metadata = { uuid: randomUUID(), time: at, name: 'send-sms', ip_address: '127.0.0.1' }
  return JSON.stringify({ metadata, user, sms })
}

const phoneFactor = (phone: string, at: string) => ({
  id: randomUUID(),
  created_at: at,
  updated_at: at,
  status: 'verified',
  friendly_name: 'Phone',
  factor_type: 'phone',
  phone,
})

/** GoTrue's headers: a new id per attempt and one `v1,` signature per secret, joined by ", ". */
const signAsGoTrue = (secrets: string, body: string, now = new Date()) => {
  const id = randomUUID()
  const timestamp = Math.floor(now.getTime() / 1000).toString()
  const signatures = parseSecrets(secrets, '--secret').map(
    (key) => `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`,
  )
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': timestamp,
    'webhook-signature': signatures.join(', '),
  }
}

/** Success as GoTrue reads it: 204, or 200/202 with a JSON body that holds no `error`. */
const isSuccessAnswer = (status: number, contentType: string | null, body: string): boolean => {
  if (status === 204) return true
  if (status !== 200 && status !== 202) return false
  if (!contentType?.includes('application/json')) return false
  try {
    const json = JSON.parse(body) as unknown
    return isRecord(json) && !('error' in json)
  } catch {
    return false
  }
}

/** A number as GoTrue keeps it: E.164 digits without `+` or spaces. */
const e164 = (value: string, option: string): string => {
  const phone = value.replace(/[\s+]/g, '')
  if (!/^\d{7,15}$/.test(phone)) throw new UsageError(`${option} must be an E.164 number such as 8613800138000`)
  return phone
}

/** The hook URL (`httpUrl`), with `/send-sms` when only the host is given. */
const hookUrl = (value: string): URL => {
  const url = httpUrl(value)
  if (url.pathname === '/') url.pathname = '/send-sms'
  return url
}

const testCall = (phone: string, mfa: boolean, newPhone: string | undefined): TestCall => {
  if (newPhone === undefined) return { kind: mfa ? 'mfa' : 'sms', phone }
  if (mfa) throw new UsageError('--mfa and --new-phone exclude each other: an MFA challenge is no phone change')
  const to = e164(newPhone, '--new-phone')
  if (to === phone) throw new UsageError('--new-phone must differ from --phone, the number being replaced')
  return { kind: 'phone_change', phone, newPhone: to }
}

/**
 * `work`, or an `AnswerLost` when the event loop runs dry before it settles. Node's fetch can drop a request whose
 * connection the server resets as it opens: its promise then never settles, and the process, with nothing left to
 * wait for (the timeout's timer does not hold it), would exit with status 13 and no word. A loop with nothing left
 * to run while the answer is awaited means that no connection is left to bring it.
 */
export const unlessLost = <T>(work: Promise<T>): Promise<T> => {
  let drained = () => {}
  const lost = new Promise<never>((_, reject) => (drained = () => reject(new AnswerLost())))
  process.once('beforeExit', drained)
  return Promise.race([work, lost]).finally(() => process.off('beforeExit', drained))
}

export const sendTest = async (args: string[]): Promise<number> => {
  const values = parseOptions(args, OPTIONS)
  const missing = (['url', 'secret', 'phone'] as const).filter((name) => !values[name])
  if (missing.length > 0) throw new UsageError(`missing ${missing.map((m) => `--${m}`).join(', ')}`)
  const url = hookUrl(values.url!)
  const otp = values.otp ?? '123456'
  if (!/^\d{6,10}$/.test(otp)) throw new UsageError('--otp must be 6 to 10 digits')
  const call = testCall(e164(values.phone!, '--phone'), values.mfa ?? false, values['new-phone'])

  const body = testPayload(call, otp, values.legacy ?? false)
  const headers = signAsGoTrue(values.secret!, body)
  let response: Response
  let answer: string
  try {
    response = await unlessLost(fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(TIMEOUT_MS) }))
    answer = await unlessLost(response.text())
  } catch (error) {
    console.error(`sms-hook send-test: ${url.href}: ${whyUnanswered(error, TIMEOUT_MS)}`)
    return 1
  }
  console.log(`HTTP ${response.status}`)
  console.log(answer)
  return isSuccessAnswer(response.status, response.headers.get('content-type'), answer) ? 0 : 1
}
