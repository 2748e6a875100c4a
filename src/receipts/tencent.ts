import { reportedAt } from './times.js'
import { isText, parseReports, reportUpdate, textOf, type ReportReader } from './json-array.js'
import type { ReceiptRequest, ReceiptVendor } from './types.js'

/** Tencent pushes at most 100 reports at once: a longer array is not its push. */
const MAX_REPORTS = 100

/**
 * One status report. Only the fields the hook reads are checked; the number (`nationcode`, `mobile`) is never
 * read, so that it is never kept. `ext` is the SessionContext the hook sent (its reference), echoed only when
 * Tencent enabled that for the account; `sid` the SerialNo SendSms answered.
 */
const readReport: ReportReader = (report, now) => {
  const { report_status, errmsg, sid, ext } = report
  if (report_status !== 'SUCCESS' && report_status !== 'FAIL') return undefined
  if (!isText(errmsg) || !isText(sid) || !isText(ext)) return undefined
  return reportUpdate({
    provider: 'tencent',
    reference: textOf(ext),
    vendorMessageId: textOf(sid),
    status: report_status === 'SUCCESS' ? 'delivered' : 'failed',
    // DELIVRD on success; a failure's carrier code (MK:0001, ...) says why it was dropped.
    vendorCode: textOf(errmsg),
    at: reportedAt(report.user_receive_time, now),
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
