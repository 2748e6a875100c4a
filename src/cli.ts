#!/usr/bin/env node
import { createHmac, randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'
import { parseSecrets } from './hook/config.js'
import { isConfigError } from './errors.js'
import { generateSecret } from './node/dev-secret.js'
import { isRecord } from './record.js'

const USAGE = `Usage:
  sms-hook secret
      Print a new secret for GOTRUE_HOOK_SEND_SMS_SECRETS (v1,whsec_ + 32 random bytes).

  sms-hook send-test --url URL --secret SECRET --phone NUMBER [--otp 123456] [--legacy]
      Send one hook call signed exactly as GoTrue signs it, and print the answer.
      --url     the hook URL (https://sms.example.com/send-sms); a bare origin gets /send-sms
      --secret  GOTRUE_HOOK_SEND_SMS_SECRETS as GoTrue has it (several joined by |)
      --phone   destination, E.164 (8613800138000 or +8613800138000)
      --otp     the code to send (6 to 10 digits; default 123456)
      --legacy  send the payload of GoTrue before v2.187 (no metadata: errors come as HTTP statuses)
      Exit status 0 only when the hook answered success.`

/** A GoTrue-shaped payload (docs/gotrue-contract.md) in the compact form Go's json.Marshal writes. */
const testPayload = (phone: string, otp: string, legacy: boolean, now = new Date()): string => {
  const at = now.toISOString()
  const user = {
    id: randomUUID(),
    aud: 'authenticated',
    role: 'authenticated',
    email: '',
    phone,
    app_metadata: { provider: 'phone', providers: ['phone'] },
    user_metadata: {},
    identities: [],
    created_at: at,
    updated_at: at,
    is_anonymous: false,
  }
  if (legacy) return JSON.stringify({ user, sms: { otp } })
  const metadata = { uuid: randomUUID(), time: at, name: 'send-sms', ip_address: '127.0.0.1' }
  return JSON.stringify({ metadata, user, sms: { otp, phone } })
}

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

const sendTest = async (args: string[]): Promise<number> => {
  const { values } = parseArgs({
    args,
    options: {
      url: { type: 'string' },
      secret: { type: 'string' },
      phone: { type: 'string' },
      otp: { type: 'string', default: '123456' },
      legacy: { type: 'boolean', default: false },
    },
  })
  const missing = (['url', 'secret', 'phone'] as const).filter((name) => !values[name])
  if (missing.length > 0) throw new UsageError(`missing ${missing.map((m) => `--${m}`).join(', ')}`)
  const phone = values.phone!.replace(/[\s+]/g, '')
  if (!/^\d{7,15}$/.test(phone)) throw new UsageError('--phone must be an E.164 number such as 8613800138000')
  if (!/^\d{6,10}$/.test(values.otp!)) throw new UsageError('--otp must be 6 to 10 digits')
  const url = new URL(values.url!)
  if (url.pathname === '/') url.pathname = '/send-sms'

  const body = testPayload(phone, values.otp!, values.legacy!)
  const headers = signAsGoTrue(values.secret!, body)
  const response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) })
  const answer = await response.text()
  console.log(`HTTP ${response.status}`)
  console.log(answer)
  return isSuccessAnswer(response.status, response.headers.get('content-type'), answer) ? 0 : 1
}

class UsageError extends Error {}

const HELP = ['--help', '-h']

const run = async (argv: string[]): Promise<number> => {
  const [command, ...rest] = argv
  // The usage covers every command, so `sms-hook send-test --help` shows it too.
  if (rest.some((arg) => HELP.includes(arg))) {
    console.log(USAGE)
    return 0
  }
  try {
    switch (command) {
      case 'secret':
        console.log(generateSecret())
        return 0
      case 'send-test':
        return await sendTest(rest)
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE)
        return command === undefined ? 2 : 0
      default:
        throw new UsageError(`unknown command "${command}"`)
    }
  } catch (error) {
    if (error instanceof UsageError || isConfigError(error) || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`sms-hook: ${(error as Error).message}\n\n${USAGE}`)
      return 2
    }
    console.error(`sms-hook: ${(error as Error).message}`)
    return 1
  }
}

process.exitCode = await run(process.argv.slice(2))
