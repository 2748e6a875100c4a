import { describe, expect, it } from 'vitest'
import { advance, merge } from '../../src/delivery/status.js'
import type { DeliveryRecord } from '../../src/delivery/types.js'

const unknown: DeliveryRecord = {
  reference: 'ref-1',
  provider: 'aliyun',
  status: 'unknown',
  sentAt: 1_000,
  statusAt: 1_000,
  to: '+86139****5678',
  number: 'a'.repeat(32),
  country: '86',
  reconcileAt: 46_000,
  sealed: 'c2VhbGVk',
}

describe('the sealed number and the status rule', () => {
  it.each(['delivered', 'failed', 'expired'] as const)('drops it with the schedule on %s', (status) => {
    const next = advance(unknown, { provider: 'aliyun', reference: 'ref-1', status, at: 2_000 })
    expect(next).toMatchObject({ status })
    expect(next).not.toHaveProperty('sealed')
    expect(next).not.toHaveProperty('reconcileAt')
  })

  it('keeps it while the status is not final', () => {
    const next = advance(unknown, { provider: 'aliyun', reference: 'ref-1', status: 'sent', at: 2_000 })
    expect(next).toMatchObject({ status: 'sent', sealed: 'c2VhbGVk', reconcileAt: 46_000 })
  })

  it('keeps it when the late outcome of the same call is merged in, and takes it from a newer record that has it', () => {
    const accepted: DeliveryRecord = { ...unknown, status: 'accepted', vendorMessageId: '1^0', statusAt: 1_500 }
    delete accepted.sealed
    delete accepted.reconcileAt
    expect(merge(unknown, accepted)).toMatchObject({ status: 'accepted', sealed: 'c2VhbGVk', reconcileAt: 46_000 })
    const bare = { ...unknown }
    delete bare.sealed
    expect(merge(bare, unknown)).toMatchObject({ sealed: 'c2VhbGVk' })
  })

  it('never adds it to a send that is final', () => {
    const delivered: DeliveryRecord = { ...unknown, status: 'delivered', statusAt: 3_000 }
    delete delivered.sealed
    delete delivered.reconcileAt
    expect(merge(delivered, unknown)).not.toHaveProperty('sealed')
  })
})
