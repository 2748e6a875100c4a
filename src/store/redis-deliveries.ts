/**
 * The delivery records on Redis (`DeliveryStore`, docs/receipts.md), beside the idempotency store of
 * ./redis.ts, on its connection and with its reading of failures (`fromRedisError`, through its Link).
 *
 * Key layout (`prefix` as in ./redis.ts; every key carries a TTL, and none holds a number in clear):
 * - `<prefix>dlv:rec:{<reference>}`: the record of one send, as JSON, expiring with the TTL of its last change.
 * - `<prefix>dlv:vid:{<provider>:<vendor message id>}`: the reference of the send the vendor knows by that id.
 * - `<prefix>dlv:num:{<number hash>}`: a sorted set of the references sent to one number (the keyed hash of
 *   `DeliveryRecord.number`), scored by `sentAt`, trimmed to the newest MAX_PER_NUMBER.
 * - `<prefix>dlv:due`: a sorted set of the references whose reconciliation is due, scored by `reconcileAt`. One
 *   key for the deployment: only the sends whose outcome was unknown are in it.
 *
 * Every command names one key, so that on a Redis Cluster each goes to the node of its slot and no command spans
 * two. The record is the truth and the other keys are indexes to it: what an index names is read back and
 * checked (an expired record, another provider, a `reconcileAt` since moved), and an index entry that no longer
 * holds is dropped by the read that found it. An index written a moment after its record, or lost with a
 * failed command, can then only make a send harder to find, never make a receipt move the wrong one.
 *
 * A record changes by compare-and-set: read it, compute the next one with `advance` or `merge` (src/delivery
 * /status.ts, as every store does, so there is no second copy of the status ranks in Lua), and write it with a
 * script that writes only if the key still holds what was read. A receipt that raced another is computed
 * again from what won. Writes are not followed by WAIT under SMS_HOOK_REDIS_DURABLE=wait: a receipt lost in a
 * failover costs a status update, not a second SMS.
 */
import type { Cluster, Redis } from 'ioredis'
import * as z from 'zod/mini'
import { advance, merge } from '../delivery/status.js'
import {
  DELIVERY_STATUSES,
  MAX_PER_NUMBER,
  type ApplyResult,
  type DeliveryRecord,
  type DeliveryStore,
  type DeliveryUpdate,
} from '../delivery/types.js'
import { StoreError } from '../errors.js'

/** The scripts of this store, as ioredis defines them on the client beside those of ./redis.ts. */
export interface DeliveryScripts {
  smsHookDeliveryPut(key: string, expected: string, next: string, ttlMs: number | ''): Promise<unknown>
  smsHookDeliveryIndex(key: string, member: string, score: number, ttlMs: number, keep: number): Promise<unknown>
}

export type DeliveryClient = (Redis | Cluster) & DeliveryScripts

/** ./redis.ts's Link as this store uses it: every call's failure is read by `fromRedisError`. */
export interface DeliveryLink {
  run<T>(call: (client: DeliveryClient) => Promise<T>, write?: boolean): Promise<T>
}

/** Compare-and-set rounds before a record that keeps changing under us is given up on. */
const MAX_ROUNDS = 8

const storedRecord = z.strictObject({
  reference: z.string(),
  provider: z.string(),
  status: z.enum(DELIVERY_STATUSES),
  vendorMessageId: z.optional(z.string()),
  vendorCode: z.optional(z.string()),
  sentAt: z.number(),
  statusAt: z.number(),
  deliveredAt: z.optional(z.number()),
  to: z.string(),
  number: z.string(),
  country: z.string(),
  reconcileAt: z.optional(z.number()),
  sealed: z.optional(z.string()),
})

/** A record as the store wrote it, checked as it comes back: a key another program wrote moves nothing. */
const readRecord = (key: string, text: string): DeliveryRecord => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    value = undefined
  }
  const parsed = storedRecord.safeParse(value)
  if (!parsed.success)
    throw new StoreError('bad_reply', `redis: the record stored at ${key} is not one this store wrote`)
  return parsed.data as DeliveryRecord
}

export class RedisDeliveryStore implements DeliveryStore {
  readonly #link: DeliveryLink
  readonly #prefix: string

  /** No clock: records end by Redis's own expiry (PX), and every time the store compares comes from its caller. */
  constructor(link: DeliveryLink, prefix: string) {
    this.#link = link
    this.#prefix = prefix
  }

  async record(record: DeliveryRecord, ttlMs: number): Promise<void> {
    const { kept, next } = await this.#change(
      record.reference,
      (current) => (current === undefined ? { ...record } : merge(current, record)),
      ttlMs,
    )
    await this.#index(next!, kept, ttlMs)
  }

  async apply(update: DeliveryUpdate, ttlMs: number): Promise<ApplyResult> {
    if (update.reference !== undefined) {
      const byReference = await this.#applyTo(update.reference, update, ttlMs)
      if (byReference.matched) return byReference
    }
    if (update.vendorMessageId === undefined) return { matched: false }
    const reference = await this.#link.run(
      (c) => c.get(this.#vendorKey(update.provider, update.vendorMessageId!)),
      false,
    )
    if (reference === null || reference === update.reference) return { matched: false }
    return this.#applyTo(reference, update, ttlMs)
  }

  async get(reference: string): Promise<DeliveryRecord | undefined> {
    const key = this.#recordKey(reference)
    const text = await this.#link.run((c) => c.get(key), false)
    return text === null ? undefined : readRecord(key, text)
  }

  async forNumber(number: string, limit: number): Promise<DeliveryRecord[]> {
    const key = this.#numberKey(number)
    const found = await this.#walk(
      key,
      limit,
      (offset, count) => this.#link.run((c) => c.zrevrange(key, offset, offset + count - 1), false),
      (record) => record.number === number,
    )
    return found.sort((a, b) => b.sentAt - a.sentAt)
  }

  async due(now: number, limit: number): Promise<DeliveryRecord[]> {
    const key = this.#dueKey()
    const found = await this.#walk(
      key,
      limit,
      (offset, count) => this.#link.run((c) => c.zrangebyscore(key, '-inf', now, 'LIMIT', offset, count), false),
      (record) => record.reconcileAt !== undefined && record.reconcileAt <= now,
    )
    return found.sort((a, b) => a.reconcileAt! - b.reconcileAt!)
  }

  async reschedule(reference: string, reconcileAt: number | undefined): Promise<void> {
    const { next, ttlLeft } = await this.#change(
      reference,
      (current) => {
        if (current === undefined) return undefined
        const next = { ...current }
        if (reconcileAt === undefined) delete next.reconcileAt
        else next.reconcileAt = reconcileAt
        return next
      },
      undefined,
    )
    if (next === undefined) return
    const due = this.#dueKey()
    if (reconcileAt === undefined) await this.#link.run((c) => c.zrem(due, reference))
    else await this.#link.run((c) => c.smsHookDeliveryIndex(due, reference, reconcileAt, ttlLeft, 0))
  }

  /** The send of `reference`, moved by `update` if it is one of the update's provider. */
  async #applyTo(reference: string, update: DeliveryUpdate, ttlMs: number): Promise<ApplyResult> {
    let matched = false
    const { kept, next } = await this.#change(
      reference,
      (current) => {
        matched = current !== undefined && current.provider === update.provider
        return matched ? advance(current!, update) : undefined
      },
      ttlMs,
    )
    if (!matched || kept === undefined) return { matched: false }
    if (next === undefined) return { matched: true, changed: false, record: kept, previous: kept.status }
    await this.#index(next, kept, ttlMs)
    return { matched: true, changed: true, record: next, previous: kept.status }
  }

  /**
   * Reads the record of `reference` and writes `change(record)` in its place unless it changed meanwhile, in which
   * case the change is computed again from the record that is there now. `change` returning undefined writes
   * nothing. `ttlMs` undefined keeps the record's expiry; `ttlLeft` is its expiry after the write, in ms.
   */
  async #change(
    reference: string,
    change: (current: DeliveryRecord | undefined) => DeliveryRecord | undefined,
    ttlMs: number | undefined,
  ): Promise<{ kept: DeliveryRecord | undefined; next: DeliveryRecord | undefined; ttlLeft: number }> {
    const key = this.#recordKey(reference)
    let text = (await this.#link.run((c) => c.get(key), false)) ?? ''
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const kept = text === '' ? undefined : readRecord(key, text)
      const next = change(kept)
      if (next === undefined) return { kept, next, ttlLeft: 0 }
      const reply = await this.#link.run((c) => c.smsHookDeliveryPut(key, text, JSON.stringify(next), ttlMs ?? ''))
      const [written, value] = Array.isArray(reply) ? (reply as unknown[]) : []
      if (written === 1 && typeof value === 'number') return { kept, next, ttlLeft: Math.max(1, value) }
      if (written !== 0 || typeof value !== 'string')
        throw new StoreError('bad_reply', `redis: unexpected reply for ${key}`)
      text = value
    }
    throw new StoreError('busy', `redis: the record at ${key} kept changing under ${MAX_ROUNDS} writes`)
  }

  /**
   * Points the indexes at `next` for `ttlMs`: its number's list, its vendor message id, and the due set, which it
   * joins with a `reconcileAt` and leaves without one. Run together: each names a key of its own slot.
   */
  async #index(next: DeliveryRecord, kept: DeliveryRecord | undefined, ttlMs: number) {
    const ref = next.reference
    const numberKey = this.#numberKey(next.number)
    const work: Promise<unknown>[] = [
      this.#link.run((c) => c.smsHookDeliveryIndex(numberKey, ref, next.sentAt, ttlMs, MAX_PER_NUMBER)),
    ]
    if (next.vendorMessageId !== undefined) {
      const vendorKey = this.#vendorKey(next.provider, next.vendorMessageId)
      work.push(this.#link.run((c) => c.set(vendorKey, ref, 'PX', ttlMs)))
    }
    const due = this.#dueKey()
    if (next.reconcileAt !== undefined)
      work.push(this.#link.run((c) => c.smsHookDeliveryIndex(due, ref, next.reconcileAt!, ttlMs, 0)))
    else if (kept?.reconcileAt !== undefined) work.push(this.#link.run((c) => c.zrem(due, ref)))
    await Promise.all(work)
  }

  /**
   * Up to `limit` live records of the references a sorted set lists, in its order, read a page at a time:
   * references whose record is gone or no longer `holds` are skipped, and dropped from the set afterwards.
   */
  async #walk(
    key: string,
    limit: number,
    page: (offset: number, count: number) => Promise<string[]>,
    holds: (record: DeliveryRecord) => boolean,
  ): Promise<DeliveryRecord[]> {
    if (!(limit > 0)) return []
    const found: DeliveryRecord[] = []
    const stale: string[] = []
    const count = Math.max(limit, 16)
    for (let offset = 0; found.length < limit; offset += count) {
      const references = await page(offset, count)
      const records = await Promise.all(references.map((reference) => this.get(reference)))
      records.forEach((record, i) => {
        if (record !== undefined && holds(record)) found.push(record)
        else stale.push(references[i]!)
      })
      if (references.length < count) break
    }
    if (stale.length > 0) await this.#link.run((c) => c.zrem(key, ...stale))
    return found.slice(0, limit)
  }

  #recordKey(reference: string) {
    return `${this.#prefix}dlv:rec:{${reference}}`
  }

  #vendorKey(provider: string, id: string) {
    return `${this.#prefix}dlv:vid:{${provider}:${id}}`
  }

  #numberKey(number: string) {
    return `${this.#prefix}dlv:num:{${number}}`
  }

  #dueKey() {
    return `${this.#prefix}dlv:due`
  }
}

/**
 * `smsHookDeliveryPut`: writes ARGV[2] if the key holds ARGV[1] ('' for none), for ARGV[3] ms ('' keeps the
 * expiry it has) and answers {1, its expiry in ms}; else writes nothing and answers {0, what it holds}.
 * `smsHookDeliveryIndex`: adds ARGV[1] at score ARGV[2] to a sorted set, keeps its ARGV[4] highest (0: all), and
 * makes it live at least ARGV[3] ms more. Each writes (SET, ZADD) before anything else, as ./redis.ts's scripts do,
 * so that Redis at `maxmemory` refuses the script whole.
 */
export const DELIVERY_SCRIPTS = {
  smsHookDeliveryPut: {
    numberOfKeys: 1,
    lua: `
local current = redis.call('GET', KEYS[1]) or ''
if current ~= ARGV[1] then return {0, current} end
if ARGV[3] == '' then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return {1, redis.call('PTTL', KEYS[1])}`,
  },
  smsHookDeliveryIndex: {
    numberOfKeys: 1,
    lua: `
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local keep = tonumber(ARGV[4])
if keep > 0 then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -keep - 1) end
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1`,
  },
} as const
