/** The times vendors' receipts carry, read to epoch milliseconds. */

/**
 * `YYMMDDhhmm` in UTC (Twilio's `RawDlrDoneDate`, Vonage's `scts`): when the carrier reported the status.
 * Undefined when the text is not such a time, so the receipt's arrival stands in for it.
 */
export const compactUtc = (value: string | null | undefined): number | undefined => {
  const match = value == null ? null : /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)$/.exec(value)
  if (!match) return undefined
  const [yy, mo, dd, hh, mi] = match.slice(1).map(Number) as [number, number, number, number, number]
  if (hh > 23 || mi > 59) return undefined
  const at = Date.UTC(2000 + yy, mo - 1, dd, hh, mi)
  const date = new Date(at)
  // Date.UTC rolls 0231 over into March: such a date is not one.
  return date.getUTCMonth() === mo - 1 && date.getUTCDate() === dd ? at : undefined
}

/** An RFC 3339 date-time with its offset (MessageBird's `statusDatetime`); undefined otherwise. */
export const rfc3339 = (value: string | null | undefined): number | undefined => {
  if (value == null) return undefined
  const match = /^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)$/.exec(value)
  if (!match) return undefined
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[]
  if (mo! < 1 || mo! > 12 || d! < 1 || d! > 31 || h! > 23 || mi! > 59 || s! > 60) return undefined
  const at = Date.parse(value.replace(' ', 'T'))
  return Number.isNaN(at) ? undefined : at
}
