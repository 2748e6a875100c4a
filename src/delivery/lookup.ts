import { Hono } from 'hono/tiny'
import type { Context } from 'hono'
import type { Config } from '../config/index.js'
import { errorBody } from '../errors.js'
import { normalisePhone } from '../phone/e164.js'
import { bearerToken, isToken } from '../token.js'
import type { NumberKey } from './number-key.js'
import { MAX_PER_NUMBER, type DeliveryRecord, type DeliveryStatus, type DeliveryStore } from './types.js'

/** One send as the lookup answers it: what support needs to tell whether a code arrived, and nothing to reach anyone. */
export interface DeliveryEntry {
  reference: string
  provider: string
  status: DeliveryStatus
  vendor_message_id: string | null
  vendor_code: string | null
  /** ISO 8601, UTC. */
  sent_at: string
  /** ISO 8601, UTC. */
  status_at: string
  /** The number, masked as the log masks it. */
  to: string
}

/** The answer of `GET /deliveries?to=<number>`, newest first. */
export interface DeliveriesAnswer {
  deliveries: DeliveryEntry[]
}

/**
 * The message of the lookup's own 404 (`/deliveries/<reference>` of no kept send), which tells it apart from the
 * app's 404 of a hook without the lookup (`sms-hook deliveries` says which).
 */
export const UNKNOWN_REFERENCE = 'No send with that reference is kept (unknown, or older than SMS_HOOK_RECEIPT_TTL)'

/** References are the hook's idempotency keys: a UUID or 64 hex digits. Anything far longer is none of ours. */
export const MAX_REFERENCE_LENGTH = 128

const UNAUTHORIZED = 'The delivery lookup needs Authorization: Bearer <SMS_HOOK_ADMIN_TOKEN>'
const MISSING_TO = 'Give the number as ?to=<number> (E.164 digits, with or without +), or ask /deliveries/<reference>'
const INVALID_TO = 'to must be a phone number as GoTrue sends it: E.164 digits such as 8613800138000, with or without +'

export interface DeliveryRoutesOptions {
  config: Config
  deliveries: DeliveryStore
  /** The deployment's number key, the one the hook handler hashes numbers with: a record is found by its hash. */
  numberKey: NumberKey
}

/** Whether the lookup routes exist: only with an admin token to guard them and delivery records to read. */
export const servesLookup = (config: Config, deliveries: DeliveryStore | undefined): deliveries is DeliveryStore =>
  config.delivery.adminToken !== undefined && deliveries !== undefined

/**
 * The support lookup (docs/receipts.md), mounted at `/deliveries`: `GET /deliveries?to=<number>` answers the sends
 * to that number still kept, newest first, and `GET /deliveries/<reference>` the one send of that hook call.
 * Behind `Authorization: Bearer <SMS_HOOK_ADMIN_TOKEN>`; the answers carry the masked number only, never the OTP
 * (no record has it), the number in clear or its hash (which would let a reader tie sends together beyond the TTL).
 */
export const deliveryRoutes = ({ config, deliveries, numberKey }: DeliveryRoutesOptions): Hono => {
  const token = config.delivery.adminToken
  const routes = new Hono()

  routes.use(async function lookupAccess(c, next) {
    // Each answer is about one person's sends, and changes as receipts arrive: no cache may keep or replay it.
    c.header('cache-control', 'no-store')
    if (token !== undefined && isToken(bearerToken(c.req.header('authorization')), token)) return next()
    c.header('www-authenticate', 'Bearer')
    return c.json(errorBody(401, UNAUTHORIZED), 401)
  })

  routes.get('/', async (c) => {
    const to = c.req.query('to')
    if (to === undefined || to === '') return c.json(errorBody(400, MISSING_TO), 400)
    // An unencoded `+` in a query string reads as a space (form encoding): `?to=+86...` means the `+`.
    const phone = normalisePhone(to.replace(/^ (?=\d)/, '+'), config.message.nationalNumbers)
    if (phone === undefined) return c.json(errorBody(400, INVALID_TO), 400)
    const records = await deliveries.forNumber(await numberKey(phone.e164), MAX_PER_NUMBER)
    // Newest first, whatever order a store keeps them in.
    const answer: DeliveriesAnswer = { deliveries: [...records].sort((a, b) => b.sentAt - a.sentAt).map(entryOf) }
    return c.json(answer)
  })

  routes.get('/:reference', async (c) => {
    const reference = c.req.param('reference')
    const record = reference.length <= MAX_REFERENCE_LENGTH ? await deliveries.get(reference) : undefined
    if (record === undefined) return c.json(errorBody(404, UNKNOWN_REFERENCE), 404)
    return c.json(entryOf(record))
  })

  // Read-only: another method on these paths is told so, rather than that the path does not exist.
  routes.all('/', notAllowed)
  routes.all('/:reference', notAllowed)
  return routes
}

const notAllowed = (c: Context) => c.json(errorBody(405, 'Method not allowed'), 405, { Allow: 'GET, HEAD' })

/** A record as the lookup shows it: the fields of the answer only, so a field added to records is not shown unasked. */
export const entryOf = (record: DeliveryRecord): DeliveryEntry => ({
  reference: record.reference,
  provider: record.provider,
  status: record.status,
  vendor_message_id: record.vendorMessageId ?? null,
  vendor_code: record.vendorCode ?? null,
  sent_at: new Date(record.sentAt).toISOString(),
  status_at: new Date(record.statusAt).toISOString(),
  to: record.to,
})
