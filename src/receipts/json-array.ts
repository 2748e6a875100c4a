import type { DeliveryUpdate } from '../delivery/types.js'
import { isRecord } from '../record.js'
import type { ParsedReceipts } from './types.js'

/** Reads one report of a batch; undefined when it is not one (counted as malformed, the others still taken). */
export type ReportReader = (element: Record<string, unknown>, now: number) => DeliveryUpdate | undefined

/**
 * A body that is a JSON array of reports (Alibaba Cloud, Tencent Cloud). Anything else (not JSON, not an array,
 * more than `maxReports`) is no push of theirs: undefined, the request refused as a whole.
 */
export const parseReports = (
  body: string,
  now: number,
  read: ReportReader,
  maxReports = Infinity,
): ParsedReceipts | undefined => {
  let elements: unknown
  try {
    elements = JSON.parse(body)
  } catch {
    return undefined
  }
  if (!Array.isArray(elements) || elements.length > maxReports) return undefined
  const updates: DeliveryUpdate[] = []
  let malformed = 0
  for (const element of elements) {
    const update = isRecord(element) ? read(element, now) : undefined
    if (update === undefined) malformed++
    else updates.push(update)
  }
  return { updates, malformed }
}

/** Longer than any id or code Alibaba Cloud or Tencent Cloud writes: a field past it is not one of their reports. */
const MAX_FIELD = 256

/**
 * Whether a field is text as the vendors write it: absent, null, or a string of reasonable length. Checked by
 * hand rather than with zod: the few fields read do not need its union and enum schemas in the Worker bundle.
 */
export const isText = (value: unknown): value is string | null | undefined =>
  value === undefined || value === null || (typeof value === 'string' && value.length <= MAX_FIELD)

/** A text field as the hook keeps it: an empty one (Tencent's `ext` without SessionContext) is none. */
export const textOf = (value: string | null | undefined): string | undefined =>
  value === null || value === undefined || value === '' ? undefined : value

type Optional<T> = { [K in keyof T]: T[K] | undefined }

/**
 * The update a report makes, without the fields it lacks; undefined when it carries neither our reference nor
 * the vendor's id, as such a report cannot be tied to any send.
 */
export const reportUpdate = (
  fields: Pick<DeliveryUpdate, 'provider' | 'status' | 'at'> &
    Optional<Pick<DeliveryUpdate, 'reference' | 'vendorMessageId' | 'vendorCode'>>,
): DeliveryUpdate | undefined => {
  const { reference, vendorMessageId, vendorCode, ...update } = fields
  if (reference === undefined && vendorMessageId === undefined) return undefined
  return {
    ...update,
    ...(reference === undefined ? {} : { reference }),
    ...(vendorMessageId === undefined ? {} : { vendorMessageId }),
    ...(vendorCode === undefined ? {} : { vendorCode }),
  }
}
