/**
 * What every delivery store must do (`DeliveryStore` in src/delivery/types.ts), with `MemoryDeliveryStore` as
 * the reference of the semantics: `deliveries-memory.test.ts` runs it for memory, `deliveries-redis.test.ts` for
 * Redis (one server and a Redis Cluster), test/worker/deliveries.test.ts for Durable Objects.
 *
 * Each case gets a store of its own (`make` is called per case): the due set is one for the whole store, so a
 * case that counts what is due must not see another case's sends. Time moves by `advance`: a manual clock the
 * store was given, and for a store whose records also end by its server's clock (Redis, PEXPIRE) real time as
 * well, with `ttlMs` short enough to wait out.
 */
import { describe, expect, it } from 'vitest'
import { createNumberKey } from '../../src/delivery/number-key.js'
import { advance as advanceStatus } from '../../src/delivery/status.js'
import {
  DELIVERY_STATUSES,
  MAX_PER_NUMBER,
  type DeliveryRecord,
  type DeliveryStore,
  type DeliveryUpdate,
} from '../../src/delivery/types.js'

export interface TimedDeliveries {
  store: DeliveryStore
  /** The store's time now, in epoch ms. */
  now(): number
  /** Moves the store's time on by `ms`: its clock, and real time too where its server ends records. */
  advance(ms: number): void | Promise<void>
}

export interface DeliveryContractOptions {
  /**
   * The TTL of the cases that see records expire. Default a day, by the manual clock alone; a store whose server
   * ends records on its own clock needs one of under a second, as its `advance` waits it out.
   */
  ttlMs?: number
}

const DAY = 86_400_000
const newKey = () => crypto.randomUUID()
/** A clear number per case, only ever given to the store as its keyed hash and masked. */
const numberKey = createNumberKey('deliveries contract key material')
const newNumber = () => `+86138${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`
const masked = (e164: string) => `${e164.slice(0, 6)}****${e164.slice(-4)}`

export const describeDeliveryContract = (
  name: string,
  make: () => TimedDeliveries | Promise<TimedDeliveries>,
  options: DeliveryContractOptions = {},
) => {
  const ttlMs = options.ttlMs ?? DAY

  /** A send to `e164` (fresh unless given) at the store's now. */
  const sendOf = async (timed: TimedDeliveries, over: Partial<DeliveryRecord> = {}, e164 = newNumber()) => {
    const at = timed.now()
    const record: DeliveryRecord = {
      reference: newKey(),
      provider: 'aliyun',
      status: 'accepted',
      vendorMessageId: `biz-${newKey()}`,
      sentAt: at,
      statusAt: at,
      to: masked(e164),
      number: await numberKey(e164),
      country: '86',
      ...over,
    }
    return record
  }

  const update = (record: DeliveryRecord, over: Partial<DeliveryUpdate>, at: number): DeliveryUpdate => ({
    provider: record.provider,
    reference: record.reference,
    status: 'delivered',
    at,
    ...over,
  })

  describe(`${name}: the delivery store contract`, () => {
    it('keeps a send as recorded, and knows no other reference', async () => {
      const timed = await make()
      const send = await sendOf(timed, { vendorCode: 'OK', reconcileAt: timed.now() + 45_000 })
      await timed.store.record(send, DAY)
      expect(await timed.store.get(send.reference)).toEqual(send)
      expect(await timed.store.get(newKey())).toBeUndefined()
    })

    it("keeps an unknown outcome's schedule and sealed number, and drops both with its final status", async () => {
      const timed = await make()
      const send = await sendOf(timed, {
        status: 'unknown',
        reconcileAt: timed.now() + 45_000,
        sealed: 'c2VhbGVkLWJ5LXRoZS1udW1iZXIta2V5LW9mLXRoaXMtZGVwbG95bWVudA',
      })
      delete send.vendorMessageId
      await timed.store.record(send, DAY)
      expect(await timed.store.get(send.reference)).toEqual(send)
      expect(await timed.store.due(send.reconcileAt!, 5)).toEqual([send])
      // A reschedule keeps the sealed number: the next question needs it as much as the first.
      const later = send.reconcileAt! + 60_000
      await timed.store.reschedule(send.reference, later)
      expect(await timed.store.get(send.reference)).toEqual({ ...send, reconcileAt: later })
      const t = timed.now()
      const delivered = await timed.store.apply(update(send, { status: 'delivered', vendorCode: 'DELIVERED' }, t), DAY)
      expect(delivered).toMatchObject({ matched: true, changed: true, previous: 'unknown' })
      const { reconcileAt: _at, sealed: _sealed, ...rest } = send
      const kept = { ...rest, status: 'delivered', statusAt: t, deliveredAt: t, vendorCode: 'DELIVERED' }
      expect(await timed.store.get(send.reference)).toEqual(kept)
      expect(await timed.store.due(later, 5)).toEqual([])
    })

    it('moves a send forward only: accepted, sent, delivered; a repeat or a status behind changes nothing', async () => {
      const timed = await make()
      const send = await sendOf(timed)
      const { store } = timed
      await store.record(send, DAY)
      const t = timed.now()
      const sent = await store.apply(update(send, { status: 'sent', vendorCode: 'SENT' }, t + 1000), DAY)
      expect(sent).toEqual({
        matched: true,
        changed: true,
        previous: 'accepted',
        record: { ...send, status: 'sent', statusAt: t + 1000, vendorCode: 'SENT' },
      })
      const delivered = await store.apply(update(send, { status: 'delivered', vendorCode: 'DELIVRD' }, t + 2000), DAY)
      const deliveredRecord = {
        ...send,
        status: 'delivered',
        statusAt: t + 2000,
        deliveredAt: t + 2000,
        vendorCode: 'DELIVRD',
      }
      expect(delivered).toEqual({ matched: true, changed: true, previous: 'sent', record: deliveredRecord })
      // Out of order: the `sent` receipt arrives after the `delivered` one.
      expect(await store.apply(update(send, { status: 'sent', vendorCode: 'LATE' }, t + 3000), DAY)).toEqual({
        matched: true,
        changed: false,
        previous: 'delivered',
        record: deliveredRecord,
      })
      // A repeat of the final receipt.
      expect(await store.apply(update(send, { status: 'delivered', vendorCode: 'AGAIN' }, t + 4000), DAY)).toEqual({
        matched: true,
        changed: false,
        previous: 'delivered',
        record: deliveredRecord,
      })
      expect(await store.get(send.reference)).toEqual(deliveredRecord)
    })

    it('never changes a final status: the first final word kept is the one kept', async () => {
      const timed = await make()
      const send = await sendOf(timed)
      await timed.store.record(send, DAY)
      const t = timed.now()
      const failed = await timed.store.apply(update(send, { status: 'failed', vendorCode: 'MOBILE_BLACK' }, t), DAY)
      expect(failed).toMatchObject({ matched: true, changed: true, previous: 'accepted' })
      for (const status of DELIVERY_STATUSES) {
        const again = await timed.store.apply(update(send, { status, vendorCode: 'X' }, t + 1000), DAY)
        expect(again).toMatchObject({ matched: true, changed: false, previous: 'failed' })
      }
      expect(await timed.store.get(send.reference)).toMatchObject({
        status: 'failed',
        vendorCode: 'MOBILE_BLACK',
        statusAt: t,
      })
    })

    it('applies every status after every status exactly as `advance` does', async () => {
      const timed = await make()
      const t = timed.now()
      const pairs = DELIVERY_STATUSES.flatMap((from) => DELIVERY_STATUSES.map((to) => [from, to] as const))
      await Promise.all(
        pairs.map(async ([from, to]) => {
          const send = await sendOf(timed, { status: from, reconcileAt: t + 45_000 })
          await timed.store.record(send, DAY)
          const receipt = update(send, { status: to, vendorCode: `code-${to}` }, t + 5000)
          const expected = advanceStatus(send, receipt)
          const result = await timed.store.apply(receipt, DAY)
          expect(result, `${from} -> ${to}`).toEqual({
            matched: true,
            changed: expected !== undefined,
            previous: from,
            record: expected ?? send,
          })
          expect(await timed.store.get(send.reference), `${from} -> ${to}`).toEqual(expected ?? send)
        }),
      )
    })

    it('finds a send by reference, and by its provider and message id when the receipt has no (known) reference', async () => {
      const timed = await make()
      const [a, b] = [await sendOf(timed), await sendOf(timed, { provider: 'tencent', vendorMessageId: 'sid-1' })]
      await timed.store.record(a, DAY)
      await timed.store.record(b, DAY)
      const t = timed.now()
      const byReference = await timed.store.apply(
        { provider: 'aliyun', reference: a.reference, status: 'sent', at: t },
        DAY,
      )
      expect(byReference).toMatchObject({ matched: true, changed: true, record: { reference: a.reference } })
      const byId = await timed.store.apply(
        { provider: 'aliyun', vendorMessageId: a.vendorMessageId!, status: 'delivered', at: t },
        DAY,
      )
      expect(byId).toMatchObject({ matched: true, changed: true, previous: 'sent', record: { reference: a.reference } })
      // A reference the store does not know (Tencent's `ext` unset, or another system's) falls back to the id.
      const fallback = await timed.store.apply(
        { provider: 'tencent', reference: newKey(), vendorMessageId: 'sid-1', status: 'failed', at: t },
        DAY,
      )
      expect(fallback).toMatchObject({
        matched: true,
        changed: true,
        record: { reference: b.reference, status: 'failed' },
      })
    })

    it('does not match a receipt of another provider, by reference or by message id', async () => {
      const timed = await make()
      const send = await sendOf(timed)
      await timed.store.record(send, DAY)
      const t = timed.now()
      const other = [
        { provider: 'tencent', reference: send.reference, status: 'delivered', at: t },
        { provider: 'tencent', vendorMessageId: send.vendorMessageId!, status: 'delivered', at: t },
        {
          provider: 'twilio',
          reference: send.reference,
          vendorMessageId: send.vendorMessageId!,
          status: 'failed',
          at: t,
        },
      ] satisfies DeliveryUpdate[]
      for (const receipt of other) expect(await timed.store.apply(receipt, DAY)).toEqual({ matched: false })
      expect(await timed.store.get(send.reference)).toEqual(send)
    })

    it('matches nothing for a receipt of no known send', async () => {
      const timed = await make()
      await timed.store.record(await sendOf(timed), DAY)
      const t = timed.now()
      for (const receipt of [
        { provider: 'aliyun', reference: newKey(), status: 'delivered', at: t },
        { provider: 'aliyun', vendorMessageId: newKey(), status: 'delivered', at: t },
        { provider: 'aliyun', reference: newKey(), vendorMessageId: newKey(), status: 'failed', at: t },
        { provider: 'aliyun', status: 'delivered', at: t },
      ] satisfies DeliveryUpdate[])
        expect(await timed.store.apply(receipt, DAY)).toEqual({ matched: false })
    })

    it('forgets a send after its TTL: by reference, by message id, by number and in the due set', async () => {
      const timed = await make()
      const send = await sendOf(timed, { reconcileAt: timed.now() })
      await timed.store.record(send, ttlMs)
      await timed.advance(ttlMs / 4)
      expect(await timed.store.get(send.reference)).toEqual(send)
      await timed.advance(ttlMs)
      expect(await timed.store.get(send.reference)).toBeUndefined()
      const t = timed.now()
      expect(await timed.store.apply(update(send, {}, t), ttlMs)).toEqual({ matched: false })
      expect(
        await timed.store.apply(
          { provider: 'aliyun', vendorMessageId: send.vendorMessageId!, status: 'sent', at: t },
          ttlMs,
        ),
      ).toEqual({ matched: false })
      expect(await timed.store.forNumber(send.number, 10)).toEqual([])
      expect(await timed.store.due(t, 10)).toEqual([])
    })

    it('counts the TTL again from each change, for every way a send is found', async () => {
      const timed = await make()
      const send = await sendOf(timed, { reconcileAt: timed.now() })
      await timed.store.record(send, ttlMs)
      await timed.advance((ttlMs * 3) / 5)
      const changed = await timed.store.apply(update(send, { status: 'sent' }, timed.now()), ttlMs)
      expect(changed).toMatchObject({ matched: true, changed: true })
      await timed.advance((ttlMs * 3) / 5)
      // Past the TTL of the record, not of its last change.
      expect(await timed.store.get(send.reference)).toMatchObject({ status: 'sent' })
      expect((await timed.store.forNumber(send.number, 10)).map((r) => r.reference)).toEqual([send.reference])
      expect((await timed.store.due(timed.now(), 10)).map((r) => r.reference)).toEqual([send.reference])
      const byId = await timed.store.apply(
        { provider: 'aliyun', vendorMessageId: send.vendorMessageId!, status: 'delivered', at: timed.now() },
        ttlMs,
      )
      expect(byId).toMatchObject({ matched: true, changed: true, previous: 'sent' })
      // A repeat is no change: it does not keep the send any longer.
      await timed.advance((ttlMs * 3) / 5)
      expect(await timed.store.apply(update(send, {}, timed.now()), ttlMs)).toMatchObject({ changed: false })
      await timed.advance((ttlMs * 3) / 5)
      expect(await timed.store.get(send.reference)).toBeUndefined()
    })

    it('merges a late outcome into the send of its reference: unknown, then accepted with the message id', async () => {
      const timed = await make()
      const reconcileAt = timed.now() + 45_000
      const first = await sendOf(timed, { status: 'unknown', vendorMessageId: undefined, reconcileAt })
      delete first.vendorMessageId
      await timed.store.record(first, DAY)
      const t = timed.now() + 1500
      const late: DeliveryRecord = { ...first, status: 'accepted', statusAt: t, vendorMessageId: 'biz-late' }
      delete late.reconcileAt
      await timed.store.record(late, DAY)
      const merged = { ...first, status: 'accepted', statusAt: t, vendorMessageId: 'biz-late' }
      expect(await timed.store.get(first.reference)).toEqual(merged)
      expect((await timed.store.forNumber(first.number, 10)).map((r) => r.reference)).toEqual([first.reference])
      const byId = await timed.store.apply(
        { provider: 'aliyun', vendorMessageId: 'biz-late', status: 'delivered', at: t + 1000 },
        DAY,
      )
      expect(byId).toMatchObject({ matched: true, changed: true, previous: 'accepted' })
    })

    it('merges a late outcome of the provider that really answered (failover), findable under that provider', async () => {
      const timed = await make()
      const first = await sendOf(timed, { status: 'unknown', reconcileAt: timed.now() + 45_000 })
      delete first.vendorMessageId
      await timed.store.record(first, DAY)
      const late: DeliveryRecord = { ...first, provider: 'tencent', status: 'accepted', vendorMessageId: 'sid-late' }
      delete late.reconcileAt
      await timed.store.record(late, DAY)
      expect(await timed.store.get(first.reference)).toMatchObject({ provider: 'tencent', vendorMessageId: 'sid-late' })
      const t = timed.now()
      expect(
        await timed.store.apply({ provider: 'tencent', vendorMessageId: 'sid-late', status: 'sent', at: t }, DAY),
      ).toMatchObject({ matched: true, changed: true })
      expect(
        await timed.store.apply({ provider: 'aliyun', reference: first.reference, status: 'sent', at: t }, DAY),
      ).toEqual({
        matched: false,
      })
    })

    it('keeps the further status when an outcome is recorded again behind a receipt', async () => {
      const timed = await make()
      const send = await sendOf(timed)
      await timed.store.record(send, DAY)
      const t = timed.now()
      await timed.store.apply(update(send, { status: 'delivered' }, t + 1000), DAY)
      await timed.store.record({ ...send, statusAt: t + 2000 }, DAY)
      expect(await timed.store.get(send.reference)).toMatchObject({ status: 'delivered', statusAt: t + 1000 })
      expect(await timed.store.forNumber(send.number, 10)).toHaveLength(1)
    })

    it("lists a number's sends newest first, at most `limit`, and only that number's", async () => {
      const timed = await make()
      const number = newNumber()
      const t = timed.now()
      const sends = await Promise.all(
        [2, 0, 3, 1].map((i) => sendOf(timed, { sentAt: t + i * 1000, statusAt: t + i * 1000 }, number)),
      )
      const other = await sendOf(timed, {}, newNumber())
      for (const send of [...sends, other]) await timed.store.record(send, DAY)
      const newestFirst = sends.toSorted((a, b) => b.sentAt - a.sentAt)
      const hash = await numberKey(number)
      expect(await timed.store.forNumber(hash, 10)).toEqual(newestFirst)
      expect(await timed.store.forNumber(hash, 2)).toEqual(newestFirst.slice(0, 2))
      expect(await timed.store.forNumber(other.number, 10)).toEqual([other])
      expect(await timed.store.forNumber(await numberKey(newNumber()), 10)).toEqual([])
    })

    it(`keeps at least the newest ${MAX_PER_NUMBER} sends of a number`, async () => {
      const timed = await make()
      const number = newNumber()
      const t = timed.now()
      const sends = await Promise.all(
        Array.from({ length: MAX_PER_NUMBER + 5 }, (_, i) => sendOf(timed, { sentAt: t + i, statusAt: t + i }, number)),
      )
      // Recorded together, as concurrent hook calls to one number would be: the oldest are not the first in.
      await Promise.all(sends.map((send) => timed.store.record(send, DAY)))
      const listed = await timed.store.forNumber(sends[0]!.number, MAX_PER_NUMBER)
      expect(listed.map((r) => r.reference)).toEqual(
        sends
          .slice(-MAX_PER_NUMBER)
          .reverse()
          .map((r) => r.reference),
      )
      // Over a hundred object calls on Workers, where each send is an object of its own.
    }, 60_000)

    it('hands out the sends due for reconciliation, oldest first, and reschedules or clears them', async () => {
      const timed = await make()
      const t = timed.now()
      const soon = await sendOf(timed, { status: 'unknown', reconcileAt: t + 45_000 })
      const later = await sendOf(timed, { status: 'unknown', reconcileAt: t + 60_000 })
      const none = await sendOf(timed)
      for (const send of [later, none, soon]) await timed.store.record(send, DAY)
      const due = async (at: number, limit = 10) => (await timed.store.due(at, limit)).map((r) => r.reference)
      expect(await due(t + 44_999)).toEqual([])
      expect(await due(t + 45_000)).toEqual([soon.reference])
      expect(await timed.store.due(t + 100_000, 10)).toEqual([soon, later])
      expect(await due(t + 100_000, 1)).toEqual([soon.reference])
      await timed.store.reschedule(soon.reference, t + 200_000)
      expect(await timed.store.get(soon.reference)).toMatchObject({ reconcileAt: t + 200_000 })
      expect(await due(t + 100_000)).toEqual([later.reference])
      expect(await due(t + 200_000)).toEqual([later.reference, soon.reference])
      await timed.store.reschedule(later.reference, undefined)
      expect(await timed.store.get(later.reference)).not.toHaveProperty('reconcileAt')
      expect(await due(t + 200_000)).toEqual([soon.reference])
      // A send kept by nobody: nothing to reschedule, and nothing made due.
      await timed.store.reschedule(newKey(), t)
      expect(await due(t + 200_000)).toEqual([soon.reference])
    })

    it('ends the reconciliation of a send at a final status', async () => {
      const timed = await make()
      const t = timed.now()
      const send = await sendOf(timed, { status: 'unknown', reconcileAt: t })
      await timed.store.record(send, DAY)
      expect((await timed.store.due(t, 10)).map((r) => r.reference)).toEqual([send.reference])
      const sent = await timed.store.apply(update(send, { status: 'sent' }, t + 1), DAY)
      expect(sent).toMatchObject({ changed: true, record: { reconcileAt: t } })
      expect((await timed.store.due(t, 10)).map((r) => r.reference)).toEqual([send.reference])
      const final = await timed.store.apply(update(send, { status: 'expired' }, t + 2), DAY)
      expect(final).toMatchObject({ changed: true })
      expect(final.matched && final.record).not.toHaveProperty('reconcileAt')
      expect(await timed.store.get(send.reference)).not.toHaveProperty('reconcileAt')
      expect(await timed.store.due(t + DAY / 2, 10)).toEqual([])
    })

    it('keeps no number in clear: only the masked form and the hash it was given', async () => {
      const timed = await make()
      const e164 = newNumber()
      const send = await sendOf(timed, {}, e164)
      await timed.store.record(send, DAY)
      const kept = [await timed.store.get(send.reference), ...(await timed.store.forNumber(send.number, 10))]
      for (const record of kept) {
        expect(record).toMatchObject({ to: masked(e164), number: await numberKey(e164) })
        expect(JSON.stringify(record)).not.toContain(e164.slice(1))
        expect(JSON.stringify(record)).not.toContain(e164.slice(-8))
      }
    })
  })
}
