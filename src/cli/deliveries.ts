import { UNKNOWN_REFERENCE, type DeliveryEntry } from '../delivery/lookup.js'
import { isRecord } from '../record.js'
import { httpUrl, parseOptions, UsageError } from './args.js'
import { unlessLost } from './send-test.js'
import { whyUnanswered } from './unreachable.js'

export const DELIVERIES_HELP = `Usage: sms-hook deliveries --url URL (--phone NUMBER | --reference REF) [options]

Print what the hook knows of the sends to a number, or of one send (its support lookup, GET /deliveries): when
each went, through which provider, and whether it was delivered, as the vendors' receipts say.

  --url URL          the hook's base URL (https://sms.example.com); a trailing /send-sms is dropped
  --token TOKEN      the hook's SMS_HOOK_ADMIN_TOKEN; SMS_HOOK_ADMIN_TOKEN in the environment when not given
  --phone NUMBER     the sends to this number, newest first: digits as GoTrue has them (8613800138000), with or
                     without +
  --reference REF    the one send of this hook call (the reference in the hook's log)
  --json             print the hook's answer as it is, JSON

Exit status: 0 when the hook answered (an empty list included), 1 when it refused (a wrong token, no lookup, an
unknown reference) or could not be reached (the cause is printed), 2 on wrong usage.`

const OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  phone: { type: 'string' },
  reference: { type: 'string' },
  json: { type: 'boolean' },
} as const

/** As send-test's: a lookup is one read of the shared state, and an answer later than that is not coming. */
const TIMEOUT_MS = 10_000

const WHO = 'sms-hook deliveries'

/** The hook's base URL: a path prefix (a proxy's) is kept, the hook path people copy from GoTrue's settings is not. */
const baseUrl = (value: string): string => {
  const url = httpUrl(value)
  if (url.search || url.hash) throw new UsageError(`--url "${value}": give the base URL, without ? or #`)
  return `${url.origin}${url.pathname.replace(/\/+$/, '').replace(/\/send-sms$/, '')}`
}

/** A number as the hook reads it: digits, perhaps with `+`; the hook itself decides how bare ones are read. */
const phoneOf = (value: string): string => {
  const phone = value.replace(/[\s-]/g, '')
  if (!/^\+?\d{7,15}$/.test(phone)) {
    throw new UsageError('--phone must be a number as GoTrue has it, such as 8613800138000 or +8613800138000')
  }
  return phone
}

type Query = { kind: 'phone'; phone: string } | { kind: 'reference'; reference: string }

const queryOf = (phone: string | undefined, reference: string | undefined): Query => {
  if (phone !== undefined && reference !== undefined) {
    throw new UsageError('--phone and --reference exclude each other: give one')
  }
  if (phone !== undefined) return { kind: 'phone', phone: phoneOf(phone) }
  if (reference !== undefined) return { kind: 'reference', reference }
  throw new UsageError('missing --phone or --reference')
}

/** Where the lookup is asked, and the same without the number, for messages: the number stays off the screen's errors. */
const requestOf = (base: string, query: Query) =>
  query.kind === 'phone'
    ? { url: `${base}/deliveries?to=${encodeURIComponent(query.phone)}`, shown: `${base}/deliveries` }
    : {
        url: `${base}/deliveries/${encodeURIComponent(query.reference)}`,
        shown: `${base}/deliveries/${encodeURIComponent(query.reference)}`,
      }

/** The message of the app's error shape, `{"error":{"http_code","message"}}`, when the answer has it. */
const errorMessage = (json: unknown): string | undefined => {
  if (!isRecord(json) || !isRecord(json.error)) return undefined
  return typeof json.error.message === 'string' ? json.error.message : undefined
}

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

const isEntry = (value: unknown): value is DeliveryEntry =>
  isRecord(value) &&
  typeof value.reference === 'string' &&
  typeof value.provider === 'string' &&
  typeof value.status === 'string' &&
  typeof value.sent_at === 'string' &&
  typeof value.to === 'string'

/** Why a refused lookup was refused, in words that say what to change. */
const whyRefused = (status: number, json: unknown, query: Query): string => {
  const message = errorMessage(json)
  if (status === 401) return "HTTP 401: the token is wrong: give the hook's SMS_HOOK_ADMIN_TOKEN (--token)"
  if (status === 404 && query.kind === 'reference' && message === UNKNOWN_REFERENCE) {
    return `HTTP 404: no send with reference "${query.reference}" is kept (unknown, or older than SMS_HOOK_RECEIPT_TTL)`
  }
  if (status === 404) {
    return (
      'HTTP 404: the hook has no lookup: it serves /deliveries only with SMS_HOOK_ADMIN_TOKEN set and ' +
      "SMS_HOOK_RECEIPTS on (or the URL is not the hook's)"
    )
  }
  return message === undefined ? `HTTP ${status}` : `HTTP ${status}: ${message}`
}

/** `2025-03-01T08:00:00.000Z` -> `2025-03-01 08:00:00Z`: the milliseconds are noise to a reader. */
const shortTime = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')

const COLUMNS = ['SENT AT', 'PROVIDER', 'STATUS', 'VENDOR CODE', 'TO', 'REFERENCE'] as const

/** One line per send under a header, each column as wide as its widest cell. */
export const deliveriesTable = (entries: readonly DeliveryEntry[]): string => {
  const rows = entries.map((e) => [shortTime(e.sent_at), e.provider, e.status, e.vendor_code ?? '-', e.to, e.reference])
  const widths = COLUMNS.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)))
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  return [line(COLUMNS), ...rows.map(line)].join('\n')
}

export const deliveries = async (args: string[]): Promise<number> => {
  const values = parseOptions(args, OPTIONS)
  if (!values.url) throw new UsageError('missing --url')
  const base = baseUrl(values.url)
  const query = queryOf(values.phone, values.reference)
  const token = values.token ?? process.env.SMS_HOOK_ADMIN_TOKEN
  if (!token) throw new UsageError('missing --token (or SMS_HOOK_ADMIN_TOKEN in the environment)')

  const { url, shown } = requestOf(base, query)
  let response: Response
  let answer: string
  try {
    const headers = { authorization: `Bearer ${token}`, accept: 'application/json' }
    response = await unlessLost(fetch(url, { headers, signal: AbortSignal.timeout(TIMEOUT_MS) }))
    answer = await unlessLost(response.text())
  } catch (error) {
    console.error(`${WHO}: ${shown}: ${whyUnanswered(error, TIMEOUT_MS)}`)
    return 1
  }
  const json = parseJson(answer)
  if (response.status !== 200) {
    console.error(`${WHO}: ${shown}: ${whyRefused(response.status, json, query)}`)
    return 1
  }
  const entries =
    query.kind === 'reference'
      ? isEntry(json)
        ? [json]
        : undefined
      : isRecord(json) && Array.isArray(json.deliveries) && json.deliveries.every(isEntry)
        ? json.deliveries
        : undefined
  if (entries === undefined) {
    console.error(`${WHO}: ${shown}: HTTP 200, but not the lookup's answer; is the URL the hook's?`)
    return 1
  }
  if (values.json) console.log(answer)
  else if (entries.length === 0) console.log('No send to that number is kept (within SMS_HOOK_RECEIPT_TTL).')
  else console.log(deliveriesTable(entries))
  return 0
}
