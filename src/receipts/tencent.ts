import * as z from 'zod/mini'
import { reportedAt } from './china-time.js'
import { parseReports, reportUpdate, textOf, type ReportReader } from './json-array.js'
import type { ReceiptRequest, ReceiptVendor } from './types.js'

/** Longer than any id or code Tencent Cloud writes: a field past it is not one of its reports. */
const MAX_FIELD = 256
const field = z.optional(z.nullable(z.string().check(z.maxLength(MAX_FIELD))))

/** Tencent pushes at most 100 reports at once: a longer array is not its push. */
const MAX_REPORTS = 100

/**
 * One status report. Only the fields the hook reads are checked; the number (`nationcode`, `mobile`) is never
 * read, so that it is never kept. `ext` is the SessionContext the hook sent (its reference), echoed only when
 * Tencent enabled that for the account; `sid` the SerialNo SendSms answered.
 */
const statusReport = z.object({
  report_status: z.enum(['SUCCESS', 'FAIL']),
  errmsg: field,
  sid: field,
  ext: field,
  user_receive_time: z.optional(z.unknown()),
})

const readReport: ReportReader = (element, now) => {
  const report = statusReport.safeParse(element)
  if (!report.success) return undefined
  const { report_status, errmsg, sid, ext, user_receive_time } = report.data
  return reportUpdate({
    provider: 'tencent',
    reference: textOf(ext),
    vendorMessageId: textOf(sid),
    status: report_status === 'SUCCESS' ? 'delivered' : 'failed',
    // DELIVRD on success; a failure's carrier code (MK:0001, ...) says why it was dropped.
    vendorCode: textOf(errmsg),
    at: reportedAt(user_receive_time, now),
  })
}

const ANSWER = '{"result":0,"errmsg":"OK"}'

/**
 * Tencent Cloud SMS status callbacks (短信下发状态通知, set in the console's callback configuration): a JSON
 * array of at most 100 reports POSTed to `/receipts/tencent/<token>`, unsigned (the path token is the guard).
 */
export const tencentReceipts: ReceiptVendor = {
  provider: 'tencent',
  auth: 'token',
  methods: ['POST'],
  // 100 reports of ~300 bytes each, with room for longer descriptions.
  maxBodyBytes: 128 * 1024,
  parse: (request: ReceiptRequest, now: number) => parseReports(request.body, now, readReport, MAX_REPORTS),
  answer: () => new Response(ANSWER, { status: 200, headers: { 'content-type': 'application/json; charset=UTF-8' } }),
}
