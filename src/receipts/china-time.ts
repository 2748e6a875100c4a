/**
 * `yyyy-MM-dd HH:mm:ss` in China Standard Time (UTC+8, no daylight saving), as Alibaba Cloud and Tencent Cloud
 * write the times of their reports, to epoch milliseconds. Undefined for anything else, a date that does not
 * exist (2024-02-30) included: the caller falls back to the report's arrival.
 */
export const chinaTime = (text: unknown): number | undefined => {
  if (typeof text !== 'string') return undefined
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text)
  if (m === null) return undefined
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ]
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined
  const local = Date.UTC(year, month - 1, day, hour, minute, second)
  // Date.UTC rolls 02-30 over into March: a day it moved is one that does not exist.
  if (new Date(local).getUTCDate() !== day) return undefined
  return local - CHINA_OFFSET_MS
}

const CHINA_OFFSET_MS = 8 * 3_600_000

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
