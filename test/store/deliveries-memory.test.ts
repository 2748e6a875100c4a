import { describe, expect, it } from 'vitest'
import { MemoryDeliveryStore } from '../../src/delivery/memory.js'
import type { DeliveryRecord } from '../../src/delivery/types.js'
import { manualClock } from '../support/clock.js'
import { describeDeliveryContract } from './deliveries-contract.js'

describeDeliveryContract('MemoryDeliveryStore', () => {
  const clock = manualClock()
  return { store: new MemoryDeliveryStore({ clock }), now: clock.now, advance: clock.advance }
})

const send = (reference: string, at: number, over: Partial<DeliveryRecord> = {}): DeliveryRecord => ({
  reference,
  provider: 'aliyun',
  status: 'accepted',
  vendorMessageId: `biz-${reference}`,
  sentAt: at,
  statusAt: at,
  to: '+86138****0000',
  number: 'a'.repeat(32),
  country: '86',
  ...over,
})

/** What only the in-memory store has: a cap on records. */
describe('MemoryDeliveryStore', () => {
  it('past its cap forgets the oldest sends first, with their indexes', async () => {
    const clock = manualClock()
    const store = new MemoryDeliveryStore({ clock, maxRecords: 3 })
    for (const reference of ['a', 'b', 'c', 'd']) await store.record(send(reference, clock.now()), 60_000)
    expect(store.size).toBe(3)
    expect(await store.get('a')).toBeUndefined()
    expect(await store.apply({ provider: 'aliyun', vendorMessageId: 'biz-a', status: 'sent', at: 1 }, 60_000)).toEqual({
      matched: false,
    })
    expect((await store.forNumber('a'.repeat(32), 10)).map((r) => r.reference).toSorted()).toEqual(['b', 'c', 'd'])
  })

  it('forgets expired sends without being asked about them, so memory follows the TTL', async () => {
    const clock = manualClock()
    const store = new MemoryDeliveryStore({ clock })
    for (let i = 0; i < 20; i++) await store.record(send(`k${i}`, clock.now()), 60_000)
    clock.advance(60_000)
    await store.record(send('next', clock.now()), 60_000)
    expect(store.size).toBe(1)
  })

  it('refuses a cap that is not a positive whole number', () => {
    expect(() => new MemoryDeliveryStore({ clock: manualClock(), maxRecords: 0 })).toThrow('maxRecords')
  })
})
