/**
 * What the hook knows of each send after it handed the message over: the delivery record, kept for
 * `SMS_HOOK_RECEIPT_TTL` in the shared state (memory, Redis, Durable Objects), moved forward by the vendors'
 * delivery receipts and by reconciliation (docs/receipts.md).
 */

/**
 * `accepted`: the vendor took the message; `sent`: it went to the carrier; `delivered`, `failed`, `expired`: final,
 * as the vendor reports it; `unknown`: the hook could not tell whether the message left (a timeout after the
 * request went out), until a receipt or a reconciliation says.
 */
export const DELIVERY_STATUSES = ['accepted', 'sent', 'delivered', 'failed', 'expired', 'unknown'] as const
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number]

export const FINAL_STATUSES: ReadonlySet<DeliveryStatus> = new Set(['delivered', 'failed', 'expired'])
export const isFinal = (status: DeliveryStatus): boolean => FINAL_STATUSES.has(status)

/** One send, as the shared state keeps it: never the OTP, never the number in clear. */
export interface DeliveryRecord {
  /** The hook call's idempotency key, which the vendors echo back (Aliyun `OutId`, Twilio `?ref=`, ...). */
  reference: string
  /** The provider that took the message (or may have: `unknown`). */
  provider: string
  status: DeliveryStatus
  /** The vendor's id for the message (BizId, SerialNo, MessageSid, ...); absent when its answer never came. */
  vendorMessageId?: string
  /** The vendor's own word for the last status (`DELIVERED`, `30008`, `MOBILE_NUMBER_ILLEGAL`, ...). */
  vendorCode?: string
  /** When the hook handed the message to the vendor, epoch milliseconds. */
  sentAt: number
  /** When `status` was last set, epoch milliseconds. */
  statusAt: number
  /** When the handset got it, as the vendor's receipt says (epoch milliseconds); only for `delivered`. */
  deliveredAt?: number
  /** The number, masked as the log masks it (`86138****0000`). */
  to: string
  /** The number's keyed hash (`numberKey`): how the sends to one number are found without keeping it in clear. */
  number: string
  /** The number's calling code (`86`), for delivery rates per country. */
  country: string
  /** When a reconciliation should ask the vendor next (epoch ms); absent when none is due (docs/receipts.md). */
  reconcileAt?: number
  /**
   * The number, sealed (`createNumberSeal`: AES-GCM under a key derived from the number key's material), on a
   * send whose outcome is unknown and whose provider can be asked (`Provider.query`): Alibaba Cloud's
   * QuerySendDetails asks by number, which the hash cannot give back, and the state keeps no number in clear.
   * Absent on every other send; dropped with `reconcileAt` when the send reaches a final status.
   */
  sealed?: string
}

/** What a receipt (or a reconciliation) says of one send. */
export interface DeliveryUpdate {
  /** The vendor the receipt came from: a receipt only moves a send of that provider. */
  provider: string
  /** Our reference, where the vendor echoes it; the first thing a send is looked up by. */
  reference?: string
  /** The vendor's message id, where the receipt carries it; looked up by when `reference` is absent or unknown. */
  vendorMessageId?: string
  status: DeliveryStatus
  vendorCode?: string
  /** When the vendor says the status happened (epoch ms); the receipt's arrival when it says nothing. */
  at: number
}

/** How applying one update went. */
export type ApplyResult =
  /** No send of this provider has that reference or message id (or it is past the TTL). */
  | { matched: false }
  /**
   * `changed` false: a repeat, or a status behind the one kept (receipts arrive out of order); `record` is the send
   * as it is now, `previous` its status before.
   */
  | { matched: true; changed: boolean; record: DeliveryRecord; previous: DeliveryStatus }

/**
 * The delivery records, shared like the idempotency store. Every implementation keeps the same semantics:
 * `test/store/deliveries-contract.ts` holds all three to them.
 */
export interface DeliveryStore {
  /** As `IdempotencyStore.local`. */
  readonly local?: boolean
  /**
   * Records a send for `ttlMs`. A record that already exists for the reference (the late outcome of the same
   * call, answered before the provider did) is merged: its status only moves forward (`advance`), and a
   * vendor message id it lacked is added.
   */
  record(record: DeliveryRecord, ttlMs: number): Promise<void>
  /** Applies a receipt, forward only (`advance`); the TTL counts again from the update. */
  apply(update: DeliveryUpdate, ttlMs: number): Promise<ApplyResult>
  get(reference: string): Promise<DeliveryRecord | undefined>
  /** The sends to a number (its `number` hash) still kept, newest first, at most `limit`. */
  forNumber(number: string, limit: number): Promise<DeliveryRecord[]>
  /** Sends whose `reconcileAt` has come (≤ now), oldest first, at most `limit`. */
  due(now: number, limit: number): Promise<DeliveryRecord[]>
  /** Sets (or, with undefined, clears) when a send is reconciled next. */
  reschedule(reference: string, reconcileAt: number | undefined): Promise<void>
}

/** The sends per number a lookup or the resend rule reads: GoTrue's per-number limits allow far fewer in a day. */
export const MAX_PER_NUMBER = 50
