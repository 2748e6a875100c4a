/** The times vendors' receipts (and Alibaba Cloud's QuerySendDetails) carry, read to epoch milliseconds. */

/**
 * A civil date and time in UTC; undefined when it is none: an hour, minute or second out of range, or a date
 * that does not exist (Date.UTC rolls 02-30 over into March, and month 13 into the next year).
 */
const utc = (year: number, month: number, day: number, hour: number, minute: number, second = 0) => {
  if (hour > 23 || minute > 59 || second > 59) return undefined
  const at = Date.UTC(year, month - 1, day, hour, minute, second)
  const date = new Date(at)
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day ? at : undefined
}

/** The numbers of a time's fields, when `pattern` matches it. */
const fields = (pattern: RegExp, value: unknown): number[] | undefined => {
  const match = typeof value === 'string' ? pattern.exec(value) : null
  return match === null ? undefined : match.slice(1).map(Number)
}

/**
 * `YYMMDDhhmm` in UTC (Twilio's `RawDlrDoneDate`, Vonage's `scts`): when the carrier reported the status.
 * Undefined when the text is not such a time, so the receipt's arrival stands in for it.
 */
export const compactUtc = (value: string | null | undefined): number | undefined => {
  const f = fields(/^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)$/, value)
  return f && utc(2000 + f[0]!, f[1]!, f[2]!, f[3]!, f[4]!)
}

/** An RFC 3339 date-time with its offset (MessageBird's `statusDatetime`); undefined otherwise. */
export const rfc3339 = (value: string | null | undefined): number | undefined => {
  const f = fields(/^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)$/, value)
  if (f === undefined) return undefined
  const [, mo, d, h, mi, s] = f as [number, number, number, number, number, number]
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return undefined
  const at = Date.parse(value!.replace(' ', 'T'))
  return Number.isNaN(at) ? undefined : at
}

/** China has kept UTC+8 all year, with no daylight saving, since 1991. */
export const CHINA_OFFSET_MS = 8 * 3_600_000

/**
 * `yyyy-MM-dd HH:mm:ss` in China Standard Time, as Alibaba Cloud and Tencent Cloud write the times of their
 * reports (and QuerySendDetails its `ReceiveDate`), to epoch milliseconds. Undefined for anything else, a date
 * that does not exist (2024-02-30) included: the caller falls back to the report's arrival.
 */
export const chinaTime = (text: unknown): number | undefined => {
  const f = fields(/^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)$/, text)
  const at = f && utc(f[0]!, f[1]!, f[2]!, f[3]!, f[4]!, f[5]!)
  return at === undefined ? undefined : at - CHINA_OFFSET_MS
}

/**
 * When a report says its status happened: its own time when it has a readable one that is not ahead of this
 * clock by more than a vendor's clock plausibly is, the report's arrival otherwise.
 */
export const reportedAt = (text: unknown, now: number): number => {
  const at = chinaTime(text)
  return at === undefined || at > now + MAX_AHEAD_MS ? now : at
}

/** How far a vendor's clock may run ahead of ours before its times are not believed. */
const MAX_AHEAD_MS = 5 * 60_000
