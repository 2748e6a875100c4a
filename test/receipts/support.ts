/**
 * Receipts as the vendors push them, against the real app: a hook call sent through the fake vendor, the send
 * it made recorded in the app's delivery records, then reports POSTed to the receipt path.
 */
import { expect } from 'vitest'
import type { DeliveryRecord, DeliveryStore } from '../../src/delivery/types.js'
import type { HookEvent } from '../../src/hook/events.js'
import { StoreError } from '../../src/errors.js'
import { maskPhone } from '../../src/log.js'
import type { Env } from '../../src/config/index.js'
import { makeApp, type MakeAppOptions } from '../support/app.js'
import { signupPayload } from '../support/payloads.js'
import { signedPost } from '../support/sign.js'

/** `SMS_HOOK_RECEIPTS_TOKEN` of these suites. */
export const TOKEN = 'receipts-token-0123456789abcdef'

export type ReceiptEvent = Extract<HookEvent, { type: 'receipt' }>

export const receiptApp = (options: MakeAppOptions & { env?: Env } = {}) => {
  const made = makeApp({ ...options, env: { SMS_HOOK_RECEIPTS_TOKEN: TOKEN, ...options.env } })
  const deliveries = made.deliveries as DeliveryStore
  return {
    ...made,
    deliveries,
    /** The receipt events so far. */
    receipts: () => made.events.filter((event): event is ReceiptEvent => event.type === 'receipt'),
    /** POSTs `body` (an array is sent as JSON) to `path`, as Aliyun and Tencent push. */
    push: (path: string, body: unknown, headers: Record<string, string> = {}) =>
      made.app.request(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    /**
     * Makes a signed hook call to `phone`, which the app's provider sends, and keeps the delivery record of that
     * send as the hook keeps it: `accepted`, with our reference and the vendor's message id.
     */
    send: async (phone: string, sentAt = Date.now()): Promise<DeliveryRecord> => {
      const { body } = signupPayload({ phone })
      const response = await made.app.request('/send-sms', signedPost(body))
      expect(response.status).toBe(200)
      const delivered = made.events.findLast((event) => event.type === 'delivered')
      if (delivered?.type !== 'delivered') throw new Error('the hook call did not deliver')
      const record: DeliveryRecord = {
        reference: delivered.call.key,
        provider: delivered.provider,
        status: 'accepted',
        vendorMessageId: delivered.outcome.messageId,
        sentAt,
        statusAt: sentAt,
        to: maskPhone(phone),
        number: `hash-of-${phone}`,
        country: phone.slice(0, 2),
      }
      await deliveries.record(record, made.config.delivery.ttlMs)
      return record
    },
  }
}

/** Epoch ms of a `yyyy-MM-dd HH:mm:ss` China time, computed apart from the code under test. */
export const chinaMs = (text: string): number => Date.parse(`${text.replace(' ', 'T')}+08:00`)

/** The China time of epoch ms, as the vendors write it. */
export const chinaText = (ms: number): string =>
  new Date(ms + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ')

/** A DeliveryStore whose `apply` fails while `failing` is set, or waits `delayMs` first; the rest is memory's. */
export class FaultyDeliveries implements DeliveryStore {
  failing = false
  delayMs = 0
  applies = 0
  constructor(readonly inner: DeliveryStore) {}
  record: DeliveryStore['record'] = (record, ttlMs) => this.inner.record(record, ttlMs)
  apply: DeliveryStore['apply'] = async (update, ttlMs) => {
    this.applies++
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs))
    if (this.failing) throw new StoreError('oom', 'OOM command not allowed when used memory > maxmemory')
    return this.inner.apply(update, ttlMs)
  }
  get: DeliveryStore['get'] = (reference) => this.inner.get(reference)
  forNumber: DeliveryStore['forNumber'] = (number, limit) => this.inner.forNumber(number, limit)
  due: DeliveryStore['due'] = (now, limit) => this.inner.due(now, limit)
  reschedule: DeliveryStore['reschedule'] = (reference, at) => this.inner.reschedule(reference, at)
}
