import { DurableObject } from 'cloudflare:workers'
import { systemClock, type Clock } from '../clock.js'
import { advance, merge } from '../delivery/status.js'
import {
  MAX_PER_NUMBER,
  type ApplyResult,
  type DeliveryRecord,
  type DeliveryStore,
  type DeliveryUpdate,
} from '../delivery/types.js'
import { objectCall } from './object-errors.js'

/** One stored value and when it is forgotten, by the objects' clock (epoch ms). */
interface Entry<T> {
  value: T
  expiresAt: number
}

/** The objects' time, read at each call: `DeliveryObject.clock`. */
const now = () => DeliveryObject.clock.now()

/** Storage keys: the record of a reference object, the pointer of a vendor id object, entries of the sets. */
const RECORD = 'record'
const POINTER = 'pointer'
const MEMBER = 'm:'

/** A reference object's answer to a change: the record before and after (undefined: none, or none written). */
export interface Changed {
  kept: DeliveryRecord | undefined
  next: DeliveryRecord | undefined
  /** Whether the record is of the update's provider (apply only). */
  matched: boolean
  expiresAt: number
}

/**
 * The delivery records on Workers (docs/receipts.md). One class, four kinds of object, told apart by name:
 *
 * - `ref:<reference>`: the record of one send. Sharded per send, as the idempotency store is per call: a receipt
 *   names its send by reference (Aliyun `out_id`, Twilio `?ref=`) far more often than not, and then reaches the
 *   one object that holds it in one call, which moves it by `advance` with nothing else to lock. An object per
 *   number instead would need a second call to learn the number from the reference first.
 * - `vid:<provider>:<vendor message id>`: the reference of the send the vendor knows by that id, for receipts
 *   that carry only the id (Tencent's `sid` without `ext`).
 * - `num:<number hash>`: the references sent to one number (its keyed hash) with their `sentAt`, the newest
 *   MAX_PER_NUMBER: the support lookup and the resend rule read one object.
 * - `due`: the references whose reconciliation is due, with `reconcileAt`. One object for the deployment, as the
 *   reconciler reads it whole; only the sends whose outcome was unknown enter it, so it sees a small share of the
 *   traffic, and nothing on the path of a send that succeeded.
 *
 * The record is the truth; the other objects are indexes that the store reads back and checks (an expired
 * record, another provider, a moved `reconcileAt`), dropping an entry that no longer holds. Every value lives in
 * storage, mirrored in memory, written before the caller gets its answer (an object is evicted after seconds of
 * idleness; a record lives a day), and an alarm at the earliest expiry deletes what has expired, so that storage
 * holds nothing once every entry is forgotten.
 */
export class DeliveryObject extends DurableObject<unknown> {
  /**
   * The objects' time, as `IdempotencyObject.clock`: env holds only strings and bindings, so a clock cannot be
   * handed to an object; tests run the objects in their own isolate and set a manual clock here.
   */
  static clock: Clock = systemClock

  readonly #entries = new Map<string, Entry<unknown>>()
  /** When the alarm is set for, by the objects' clock; undefined when none is. */
  #alarmAt: number | undefined

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env)
    void ctx.blockConcurrencyWhile(async () => {
      for (const [key, entry] of await ctx.storage.list<Entry<unknown>>()) this.#entries.set(key, entry)
      // A stored alarm is on the runtime's time, read here on the objects' clock (the same, but in tests).
      const alarm = await ctx.storage.getAlarm()
      this.#alarmAt = alarm === null ? undefined : now() + (alarm - Date.now())
    })
  }

  // A reference object.

  /** Records a send, merged into the one kept (`merge`). */
  async put(record: DeliveryRecord, ttlMs: number): Promise<Changed> {
    const kept = this.#live<DeliveryRecord>(RECORD)
    const next = kept === undefined ? record : merge(kept, record)
    const expiresAt = now() + ttlMs
    await this.#set(RECORD, next, expiresAt)
    return { kept, next, matched: true, expiresAt }
  }

  /** Moves the send by `update` (`advance`) if it is one of the update's provider. */
  async move(update: DeliveryUpdate, ttlMs: number): Promise<Changed> {
    const kept = this.#live<DeliveryRecord>(RECORD)
    const matched = kept !== undefined && kept.provider === update.provider
    const next = matched ? advance(kept, update) : undefined
    const expiresAt = now() + ttlMs
    if (next !== undefined) await this.#set(RECORD, next, expiresAt)
    return { kept, next, matched, expiresAt }
  }

  record(): DeliveryRecord | undefined {
    return this.#live<DeliveryRecord>(RECORD)
  }

  /** Sets or clears `reconcileAt`, keeping the record's expiry. */
  async schedule(reconcileAt: number | undefined): Promise<Changed> {
    const entry = this.#entry<DeliveryRecord>(RECORD)
    if (entry === undefined) return { kept: undefined, next: undefined, matched: false, expiresAt: 0 }
    const next = { ...entry.value }
    if (reconcileAt === undefined) delete next.reconcileAt
    else next.reconcileAt = reconcileAt
    await this.#set(RECORD, next, entry.expiresAt)
    return { kept: entry.value, next, matched: true, expiresAt: entry.expiresAt }
  }

  // A vendor id object.

  async point(reference: string, ttlMs: number): Promise<void> {
    await this.#set(POINTER, reference, now() + ttlMs)
  }

  pointer(): string | undefined {
    return this.#live<string>(POINTER)
  }

  // A number or due object: a set of references, each with a score (`sentAt`, `reconcileAt`).

  /** Adds (or moves) a member; past `keep` members (0: no bound), those of the lowest scores are forgotten. */
  async add(reference: string, score: number, expiresAt: number, keep: number): Promise<void> {
    await this.#set(MEMBER + reference, score, expiresAt)
    if (keep === 0) return
    const members = this.#members()
    if (members.length <= keep) return
    members.sort((a, b) => b[1] - a[1])
    for (const [dropped] of members.slice(keep)) await this.#delete(MEMBER + dropped)
  }

  async remove(references: string[]): Promise<void> {
    for (const reference of references) await this.#delete(MEMBER + reference)
  }

  /** The live members by score, highest first (`descending`) or lowest first, those of score ≤ `upTo`. */
  members(descending: boolean, upTo: number): string[] {
    const members = this.#members().filter(([, score]) => score <= upTo)
    members.sort((a, b) => (descending ? b[1] - a[1] : a[1] - b[1]))
    return members.map(([reference]) => reference)
  }

  override async alarm(): Promise<void> {
    this.#alarmAt = undefined
    const at = now()
    for (const [key, entry] of [...this.#entries]) if (entry.expiresAt <= at) await this.#delete(key)
    if (this.#entries.size === 0) await this.ctx.storage.deleteAll()
    else await this.#schedule(Math.min(...[...this.#entries.values()].map((entry) => entry.expiresAt)))
  }

  #members(): [string, number][] {
    const at = now()
    const members: [string, number][] = []
    for (const [key, entry] of this.#entries) {
      if (key.startsWith(MEMBER) && entry.expiresAt > at)
        members.push([key.slice(MEMBER.length), entry.value as number])
    }
    return members
  }

  #entry<T>(key: string): Entry<T> | undefined {
    const entry = this.#entries.get(key) as Entry<T> | undefined
    return entry !== undefined && entry.expiresAt > now() ? entry : undefined
  }

  #live<T>(key: string): T | undefined {
    return this.#entry<T>(key)?.value
  }

  async #set(key: string, value: unknown, expiresAt: number) {
    const entry = { value, expiresAt }
    this.#entries.set(key, entry)
    await this.ctx.storage.put(key, entry)
    await this.#schedule(expiresAt)
  }

  async #delete(key: string) {
    if (this.#entries.delete(key)) await this.ctx.storage.delete(key)
  }

  /**
   * An alarm at the earliest expiry, if none is set for earlier. Alarms run on the runtime's time, so it is set
   * the rest of the entry's life from the runtime's now (the same under the system clock; under a clock that
   * stands still the alarm finds the entry live and sets itself again).
   */
  async #schedule(expiresAt: number) {
    if (this.#alarmAt !== undefined && this.#alarmAt <= expiresAt) return
    this.#alarmAt = expiresAt
    await this.ctx.storage.setAlarm(Date.now() + Math.max(0, expiresAt - now()))
  }
}

export interface DurableObjectDeliveryStoreOptions {
  /** Put before every object name, so that stores apart can share one namespace (tests). Default none. */
  scope?: string
}

/**
 * The delivery records of the Worker, over `DeliveryObject`s (its comment says which object holds what). Stubs
 * are made per call, as the idempotency store's are.
 *
 * @example
 * const deliveries = new DurableObjectDeliveryStore(env.DELIVERIES)
 */
export class DurableObjectDeliveryStore implements DeliveryStore {
  readonly #scope: string

  constructor(
    readonly namespace: DurableObjectNamespace<DeliveryObject>,
    options: DurableObjectDeliveryStoreOptions = {},
  ) {
    this.#scope = options.scope ?? ''
  }

  async record(record: DeliveryRecord, ttlMs: number): Promise<void> {
    const changed = await objectCall<Changed>(() => this.#object('ref', record.reference).put(record, ttlMs))
    await this.#index(changed, ttlMs)
  }

  async apply(update: DeliveryUpdate, ttlMs: number): Promise<ApplyResult> {
    if (update.reference !== undefined) {
      const byReference = await this.#move(update.reference, update, ttlMs)
      if (byReference.matched) return byReference
    }
    if (update.vendorMessageId === undefined) return { matched: false }
    const id = `${update.provider}:${update.vendorMessageId}`
    const reference = await objectCall<string | undefined>(() => this.#object('vid', id).pointer())
    if (reference === undefined || reference === update.reference) return { matched: false }
    return this.#move(reference, update, ttlMs)
  }

  get(reference: string): Promise<DeliveryRecord | undefined> {
    return objectCall<DeliveryRecord | undefined>(() => this.#object('ref', reference).record())
  }

  async forNumber(number: string, limit: number): Promise<DeliveryRecord[]> {
    const set = () => this.#object('num', number)
    const references = await objectCall<string[]>(() => set().members(true, Infinity))
    return this.#read(references, limit, set, (record) => record.number === number)
  }

  async due(at: number, limit: number): Promise<DeliveryRecord[]> {
    const set = () => this.#object('due', '')
    const references = await objectCall<string[]>(() => set().members(false, at))
    const found = await this.#read(
      references,
      limit,
      set,
      (record) => record.reconcileAt !== undefined && record.reconcileAt <= at,
    )
    return found.sort((a, b) => a.reconcileAt! - b.reconcileAt!)
  }

  async reschedule(reference: string, reconcileAt: number | undefined): Promise<void> {
    const changed = await objectCall<Changed>(() => this.#object('ref', reference).schedule(reconcileAt))
    if (changed.next === undefined) return
    const due = this.#object('due', '')
    if (reconcileAt === undefined) await objectCall(() => due.remove([reference]))
    else await objectCall(() => due.add(reference, reconcileAt, changed.expiresAt, 0))
  }

  async #move(reference: string, update: DeliveryUpdate, ttlMs: number): Promise<ApplyResult> {
    const changed = await objectCall<Changed>(() => this.#object('ref', reference).move(update, ttlMs))
    const { kept, next } = changed
    if (!changed.matched || kept === undefined) return { matched: false }
    if (next === undefined) return { matched: true, changed: false, record: kept, previous: kept.status }
    await this.#index(changed, ttlMs)
    return { matched: true, changed: true, record: next, previous: kept.status }
  }

  /**
   * Points the indexes at a changed record, until it expires: its number's set, its vendor id, and the due set,
   * which it joins with a `reconcileAt` and leaves without one. The objects are apart, so the calls go together.
   */
  async #index({ kept, next, expiresAt }: Changed, ttlMs: number) {
    if (next === undefined) return
    const reference = next.reference
    const work = [
      objectCall(() => this.#object('num', next.number).add(reference, next.sentAt, expiresAt, MAX_PER_NUMBER)),
    ]
    if (next.vendorMessageId !== undefined) {
      const id = `${next.provider}:${next.vendorMessageId}`
      work.push(objectCall(() => this.#object('vid', id).point(reference, ttlMs)))
    }
    const due = this.#object('due', '')
    if (next.reconcileAt !== undefined) work.push(objectCall(() => due.add(reference, next.reconcileAt!, expiresAt, 0)))
    else if (kept?.reconcileAt !== undefined) work.push(objectCall(() => due.remove([reference])))
    await Promise.all(work)
  }

  /**
   * The live records of `references` that still `hold`, in order, at most `limit`: read a few at a time (each is
   * an object of its own), and the references found stale dropped from their set.
   */
  async #read(
    references: string[],
    limit: number,
    set: () => DurableObjectStub<DeliveryObject>,
    holds: (record: DeliveryRecord) => boolean,
  ): Promise<DeliveryRecord[]> {
    const found: DeliveryRecord[] = []
    const stale: string[] = []
    for (let offset = 0; offset < references.length && found.length < limit; offset += limit) {
      const page = references.slice(offset, offset + limit)
      const records = await Promise.all(page.map((reference) => this.get(reference)))
      records.forEach((record, i) => {
        if (record !== undefined && holds(record)) found.push(record)
        else stale.push(page[i]!)
      })
    }
    if (stale.length > 0) await objectCall(() => set().remove(stale))
    return found.slice(0, limit)
  }

  #object(kind: 'ref' | 'vid' | 'num' | 'due', name: string) {
    return this.namespace.getByName(`${this.#scope}${kind}:${name}`)
  }
}
