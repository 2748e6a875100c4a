import { isFinal, type DeliveryRecord, type DeliveryStatus, type DeliveryUpdate } from './types.js'

/**
 * How far along a status is. Receipts repeat and arrive out of order (a `sent` after its `delivered`), so a
 * status moves only to a higher rank; the three final ones share the top rank and never change once set: the
 * first final word a vendor says is the one kept.
 */
const RANK: Record<DeliveryStatus, number> = {
  unknown: 0,
  accepted: 1,
  sent: 2,
  delivered: 3,
  failed: 3,
  expired: 3,
}

/** Whether `next` moves a send that is at `current`. */
export const movesForward = (current: DeliveryStatus, next: DeliveryStatus): boolean =>
  !isFinal(current) && RANK[next] > RANK[current]

/**
 * The record after `update`, or undefined when the update changes nothing (a repeat, or behind). A final status
 * ends reconciliation (its schedule and sealed number are dropped); a `delivered` one keeps when the handset got
 * it. Pure: every store applies it the same way.
 */
export const advance = (record: DeliveryRecord, update: DeliveryUpdate): DeliveryRecord | undefined => {
  if (!movesForward(record.status, update.status)) return undefined
  const next: DeliveryRecord = { ...record, status: update.status, statusAt: update.at }
  if (update.vendorCode !== undefined) next.vendorCode = update.vendorCode
  if (next.vendorMessageId === undefined && update.vendorMessageId !== undefined)
    next.vendorMessageId = update.vendorMessageId
  if (update.status === 'delivered') next.deliveredAt = update.at
  if (isFinal(update.status)) {
    // Nothing is left to ask the vendor: the sealed number goes with the schedule.
    delete next.reconcileAt
    delete next.sealed
  }
  return next
}

/**
 * A record for a reference that is kept already, merged with a newer record of the same send (a late
 * outcome): the further status wins, as `advance` decides, and an id either knows is kept.
 */
export const merge = (kept: DeliveryRecord, incoming: DeliveryRecord): DeliveryRecord => {
  const moved = advance(kept, {
    provider: incoming.provider,
    status: incoming.status,
    at: incoming.statusAt,
    ...(incoming.vendorMessageId === undefined ? {} : { vendorMessageId: incoming.vendorMessageId }),
    ...(incoming.vendorCode === undefined ? {} : { vendorCode: incoming.vendorCode }),
  })
  const merged = moved ?? { ...kept }
  if (merged.vendorMessageId === undefined && incoming.vendorMessageId !== undefined)
    merged.vendorMessageId = incoming.vendorMessageId
  // A late outcome says which provider really answered: the later record knows it.
  if (kept.status === 'unknown' && incoming.status !== 'unknown') merged.provider = incoming.provider
  if (!isFinal(merged.status) && incoming.reconcileAt !== undefined) merged.reconcileAt = incoming.reconcileAt
  if (!isFinal(merged.status) && merged.sealed === undefined && incoming.sealed !== undefined)
    merged.sealed = incoming.sealed
  return merged
}
