import type { Clock } from '../clock.js'
import { merge, advance } from './status.js'
import type { ApplyResult, DeliveryRecord, DeliveryStore, DeliveryUpdate } from './types.js'

export interface MemoryDeliveryStoreOptions {
  clock: Clock
  /** Upper bound on kept sends; past it the oldest are forgotten first. */
  maxRecords?: number
}

interface Kept {
  record: DeliveryRecord
  expiresAt: number
}

/**
 * The delivery records of one Node process (docs/state.md): a Map in insertion order, which is also expiry order
 * for records of one TTL, so the oldest are forgotten from its head. Indexes by vendor message id and by number
 * hash point at references; an index entry whose record is gone is skipped and dropped.
 */
export class MemoryDeliveryStore implements DeliveryStore {
  readonly local = true
  readonly #records = new Map<string, Kept>()
  /** `provider\u0000vendorMessageId` -> reference. */
  readonly #byVendorId = new Map<string, string>()
  /** number hash -> references, oldest first. */
  readonly #byNumber = new Map<string, string[]>()
  readonly #clock: Clock
  readonly #maxRecords: number

  constructor(options: MemoryDeliveryStoreOptions) {
    const maxRecords = options.maxRecords ?? 100_000
    if (!Number.isInteger(maxRecords) || maxRecords < 1) throw new Error('maxRecords must be a positive integer')
    this.#clock = options.clock
    this.#maxRecords = maxRecords
  }

  get size(): number {
    return this.#records.size
  }

  async record(record: DeliveryRecord, ttlMs: number): Promise<void> {
    const now = this.#clock.now()
    this.#sweep(now)
    const kept = this.#live(record.reference, now)
    const next = kept ? merge(kept.record, record) : { ...record }
    this.#put(next, now + ttlMs)
    if (!kept) {
      const list = this.#byNumber.get(next.number)
      if (list) list.push(next.reference)
      else this.#byNumber.set(next.number, [next.reference])
    }
  }

  async apply(update: DeliveryUpdate, ttlMs: number): Promise<ApplyResult> {
    const now = this.#clock.now()
    const kept = this.#find(update, now)
    if (kept === undefined) return { matched: false }
    const previous = kept.record.status
    const next = advance(kept.record, update)
    if (next === undefined) return { matched: true, changed: false, record: { ...kept.record }, previous }
    this.#put(next, now + ttlMs)
    return { matched: true, changed: true, record: { ...next }, previous }
  }

  async get(reference: string): Promise<DeliveryRecord | undefined> {
    const kept = this.#live(reference, this.#clock.now())
    return kept ? { ...kept.record } : undefined
  }

  async forNumber(number: string, limit: number): Promise<DeliveryRecord[]> {
    const now = this.#clock.now()
    const list = this.#byNumber.get(number)
    if (list === undefined) return []
    const live = list.filter((reference) => this.#live(reference, now) !== undefined)
    if (live.length === 0) this.#byNumber.delete(number)
    else if (live.length !== list.length) this.#byNumber.set(number, live)
    // Newest first; sends of the same millisecond in the order they were recorded, last first.
    return live
      .map((reference) => ({ ...this.#records.get(reference)!.record }))
      .reverse()
      .sort((a, b) => b.sentAt - a.sentAt)
      .slice(0, limit)
  }

  async due(now: number, limit: number): Promise<DeliveryRecord[]> {
    const found: DeliveryRecord[] = []
    for (const [reference, kept] of this.#records) {
      if (kept.expiresAt <= now) continue
      const at = kept.record.reconcileAt
      if (at !== undefined && at <= now) found.push({ ...this.#records.get(reference)!.record })
    }
    return found.sort((a, b) => a.reconcileAt! - b.reconcileAt!).slice(0, limit)
  }

  async reschedule(reference: string, reconcileAt: number | undefined): Promise<void> {
    const kept = this.#live(reference, this.#clock.now())
    if (kept === undefined) return
    if (reconcileAt === undefined) delete kept.record.reconcileAt
    else kept.record.reconcileAt = reconcileAt
  }

  /** Looked up by reference first, then by the vendor's id; either way only a send of the receipt's provider. */
  #find(update: DeliveryUpdate, now: number): Kept | undefined {
    const byReference = update.reference === undefined ? undefined : this.#live(update.reference, now)
    if (byReference?.record.provider === update.provider) return byReference
    if (update.vendorMessageId === undefined) return undefined
    const reference = this.#byVendorId.get(vendorKey(update.provider, update.vendorMessageId))
    const byId = reference === undefined ? undefined : this.#live(reference, now)
    return byId?.record.provider === update.provider ? byId : undefined
  }

  #live(reference: string, now: number): Kept | undefined {
    const kept = this.#records.get(reference)
    if (kept === undefined) return undefined
    if (kept.expiresAt > now) return kept
    this.#forget(reference, kept)
    return undefined
  }

  #put(record: DeliveryRecord, expiresAt: number) {
    // Deleted first so that the Map's order stays the order of expiry.
    this.#records.delete(record.reference)
    this.#records.set(record.reference, { record, expiresAt })
    if (record.vendorMessageId !== undefined)
      this.#byVendorId.set(vendorKey(record.provider, record.vendorMessageId), record.reference)
    while (this.#records.size > this.#maxRecords) {
      const [reference, oldest] = this.#records.entries().next().value as [string, Kept]
      this.#forget(reference, oldest)
    }
  }

  #forget(reference: string, kept: Kept) {
    this.#records.delete(reference)
    if (kept.record.vendorMessageId !== undefined)
      this.#byVendorId.delete(vendorKey(kept.record.provider, kept.record.vendorMessageId))
    const list = this.#byNumber.get(kept.record.number)
    if (list) {
      const rest = list.filter((r) => r !== reference)
      if (rest.length === 0) this.#byNumber.delete(kept.record.number)
      else this.#byNumber.set(kept.record.number, rest)
    }
  }

  /** Forgets a few expired records from the head, where the oldest are, on each write. */
  #sweep(now: number) {
    let n = 0
    for (const [reference, kept] of this.#records) {
      if (n++ >= 64 || kept.expiresAt > now) return
      this.#forget(reference, kept)
    }
  }
}

const vendorKey = (provider: string, id: string) => `${provider}\u0000${id}`
