import { Hono } from 'hono/tiny'
import type { Context } from 'hono'
import type { Clock } from '../clock.js'
import type { DeliveryConfig } from '../delivery/config.js'
import type { DeliveryStore, DeliveryUpdate } from '../delivery/types.js'
import { constantTimeEqual } from '../digest.js'
import { errorBody, isBodyTooLargeError } from '../errors.js'
import { readBody } from '../hook/body.js'
import type { HookObserver } from '../hook/events.js'
import { MESSAGES } from '../outcome.js'
import type { ReceiptRequest, ReceiptVendor } from './types.js'

export interface ReceiptRoutesOptions {
  config: DeliveryConfig
  /** The vendors served (`receiptVendors`); a token vendor only when `config.receiptsToken` is set. */
  vendors: readonly ReceiptVendor[]
  deliveries: DeliveryStore
  clock: Clock
  observe: HookObserver
  /** Keeps the reports still being applied after the answer alive (Workers: `ctx.waitUntil`); Node needs nothing. */
  waitUntil?: ((c: Context, work: Promise<void>) => void) | undefined
  /** How long the answer waits for the reports to be applied; `ANSWER_WITHIN_MS` by default. */
  answerWithinMs?: number
}

/**
 * Alibaba Cloud waits briefly for an answer and pushes the whole batch again (after 1, 5 and 10 minutes) when it
 * is slow: past this the vendor is answered and the rest of the batch is applied after the answer.
 */
export const ANSWER_WITHIN_MS = 300

/**
 * Reports of one request applied at once: enough to cover a shared state's round trips within the answer's
 * wait, few enough that a batch of a thousand does not open a thousand requests to it at once.
 */
const CONCURRENCY = 16

/**
 * `/receipts/<provider>/<token>` for the vendors guarded by the path token (`SMS_HOOK_RECEIPTS_TOKEN`: a wrong
 * one answers the app's 404, and changes and counts nothing) and `/receipts/<provider>` for those that sign
 * every request (refused with 403). A request's reports are each applied to the delivery records (forward
 * only) and reported as a `receipt` event; a malformed one is refused alone, never failing the others. Mounted
 * under `/receipts`.
 */
export const receiptRoutes = (options: ReceiptRoutesOptions): Hono => {
  const routes = new Hono()
  const token = options.config.receiptsToken
  for (const vendor of options.vendors) {
    if (vendor.auth === 'signature') {
      routes.all(`/${vendor.provider}`, (c) => takeReports(c, vendor, options))
    } else if (token !== undefined) {
      routes.all(`/${vendor.provider}/:token`, (c) =>
        constantTimeEqual(c.req.param('token'), token) ? takeReports(c, vendor, options) : notFound(c),
      )
    }
  }
  return routes
}

/** The app's own 404: a wrong token looks like no route at all. */
const notFound = (c: Context) => c.json(errorBody(404, 'Not found'), 404)

const takeReports = async (c: Context, vendor: ReceiptVendor, options: ReceiptRoutesOptions): Promise<Response> => {
  const { observe, clock } = options
  const method = c.req.method
  if (method === 'GET' && vendor.probe && !vendor.methods.includes('GET')) return vendor.answer()
  if ((method !== 'GET' && method !== 'POST') || !vendor.methods.includes(method)) {
    return c.json(errorBody(405, 'Method not allowed'), 405, { Allow: vendor.methods.join(', ') })
  }
  const refuse = (status: 400 | 403 | 413, message: string, reason: string) => {
    observe({ type: 'receipt', provider: vendor.provider, via: 'receipt', status: 'refused', changed: false, reason })
    return c.json(errorBody(status, message), status)
  }

  let body = ''
  if (method === 'POST') {
    let bytes: Uint8Array
    try {
      bytes = await readBody(c, vendor.maxBodyBytes)
    } catch (error) {
      if (isBodyTooLargeError(error)) return refuse(413, MESSAGES.payloadTooLarge, 'body too large')
      throw error
    }
    try {
      body = UTF8.decode(bytes)
    } catch {
      return refuse(400, INVALID_REPORT, 'body is not UTF-8')
    }
  }
  const request = receiptRequest(c, method, body, options.config.publicUrl)
  const now = clock.now()
  if (vendor.verify && !(await vendor.verify(request, now))) return refuse(403, 'Forbidden', 'signature rejected')
  const parsed = vendor.parse(request, now)
  if (parsed === undefined) return refuse(400, INVALID_REPORT, 'not a delivery report')
  for (let i = 0; i < parsed.malformed; i++) {
    observe({
      type: 'receipt',
      provider: vendor.provider,
      via: 'receipt',
      status: 'refused',
      changed: false,
      reason: 'malformed report',
    })
  }

  const work = applyAll(vendor.provider, parsed.updates, options)
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), options.answerWithinMs ?? ANSWER_WITHIN_MS)
  })
  const applied = await Promise.race([work, late])
  if (timer !== undefined) clearTimeout(timer)
  if (applied === 'late') {
    // Answered now so that the vendor does not push the batch again; `work` reports its own failures.
    options.waitUntil?.(
      c,
      work.then(() => undefined),
    )
    return vendor.answer()
  }
  // Applying again is harmless (a repeat changes nothing), so the vendor's next push completes the batch.
  if (applied === 'failed') return c.json(errorBody(503, 'Delivery records unavailable'), 503)
  return vendor.answer()
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })
const INVALID_REPORT = 'Invalid delivery report'

/**
 * The request as vendor modules read it. Its URL is the one the vendor was given (SMS_HOOK_PUBLIC_URL, then
 * the path and query as they came), not the one a proxy passed on: what Twilio and MessageBird sign.
 */
const receiptRequest = (
  c: Context,
  method: 'GET' | 'POST',
  body: string,
  publicUrl: string | undefined,
): ReceiptRequest => {
  const url = new URL(c.req.url)
  const headers = c.req.raw.headers
  const type = headers.get('content-type')?.toLowerCase()
  return {
    method,
    url: publicUrl === undefined ? url.href : `${publicUrl}${url.pathname}${url.search}`,
    query: url.searchParams,
    headers,
    body,
    ...(type?.startsWith('application/x-www-form-urlencoded') ? { form: new URLSearchParams(body) } : {}),
  }
}

/**
 * Applies each report and reports how it went. Reports of one send (one reference or message id) are applied
 * in the order the vendor wrote them, so that of two final words in one batch the first is kept; others run
 * side by side. Resolves `failed` when the records failed for any report, after trying every one.
 */
const applyAll = async (
  provider: string,
  updates: readonly DeliveryUpdate[],
  options: ReceiptRoutesOptions,
): Promise<'applied' | 'failed'> => {
  const { deliveries, observe, config } = options
  const bySend = new Map<string, DeliveryUpdate[]>()
  for (const update of updates) {
    const key = update.reference === undefined ? `\u0000${update.vendorMessageId}` : update.reference
    const group = bySend.get(key)
    if (group) group.push(update)
    else bySend.set(key, [update])
  }
  const groups = [...bySend.values()]
  let failure: { error: unknown } | undefined

  const applyOne = async (report: DeliveryUpdate) => {
    // A vendor's report only ever moves a send of that vendor, whatever its module wrote.
    const update = report.provider === provider ? report : { ...report, provider }
    const code = update.vendorCode === undefined ? {} : { vendorCode: update.vendorCode }
    const result = await deliveries.apply(update, config.ttlMs)
    if (!result.matched) {
      observe({
        type: 'receipt',
        provider,
        via: 'receipt',
        status: 'unmatched',
        changed: false,
        ...code,
        reason: 'no kept send has its reference or message id',
      })
    } else if (result.changed) {
      observe({
        type: 'receipt',
        provider,
        via: 'receipt',
        status: result.record.status,
        changed: true,
        ...code,
        record: result.record,
      })
    } else {
      observe({
        type: 'receipt',
        provider,
        via: 'receipt',
        status: update.status,
        changed: false,
        ...code,
        record: result.record,
        reason: `already ${result.record.status}`,
      })
    }
  }

  const worker = async () => {
    for (let group = groups.shift(); group !== undefined; group = groups.shift()) {
      for (const update of group) {
        try {
          await applyOne(update)
        } catch (error) {
          failure ??= { error }
        }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, groups.length) }, worker))
  if (failure === undefined) return 'applied'
  observe({ type: 'delivery_error', phase: 'receipt', error: failure.error })
  return 'failed'
}
