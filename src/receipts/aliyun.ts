import type { DeliveryStatus } from '../delivery/types.js'
import { reportedAt } from './times.js'
import { isText, parseReports, reportUpdate, textOf, type ReportReader } from './json-array.js'
import type { ReceiptRequest, ReceiptVendor } from './types.js'

/** The report of an international send (SendMessageToGlobe): `Status` "1" delivered, "2" failed, "6" expired. */
const globeStatus = (status: unknown): DeliveryStatus | undefined => {
  switch (String(status)) {
    case '1':
      return 'delivered'
    case '2':
      return 'failed'
    case '6':
      return 'expired'
  }
  return undefined
}

/**
 * One `SmsReport` (or the Dypns test route's `DypnsSmsVerifyReport`, which has the same fields), or an
 * international report. Only the fields the hook reads are checked; the number (`phone_number`, `To`) is never
 * read, so that it is never kept.
 */
const readReport: ReportReader = (report, now) => {
  if ('success' in report) {
    const { success, err_code, biz_id, out_id } = report
    if (typeof success !== 'boolean' || !isText(err_code) || !isText(biz_id) || !isText(out_id)) return undefined
    return reportUpdate({
      provider: 'aliyun',
      reference: textOf(out_id),
      vendorMessageId: textOf(biz_id),
      status: success ? 'delivered' : 'failed',
      // Aliyun writes DELIVERED on success; a failure's code (MK:0001, IC:0015, ...) says why the carrier dropped it.
      vendorCode: textOf(err_code) ?? (success ? 'DELIVERED' : undefined),
      at: reportedAt(report.report_time, now),
    })
  }
  const { Status, MessageId, ErrorCode } = report
  const status = typeof Status === 'string' || typeof Status === 'number' ? globeStatus(Status) : undefined
  if (status === undefined || !isText(MessageId) || !isText(ErrorCode)) return undefined
  return reportUpdate({
    provider: 'aliyun',
    vendorMessageId: textOf(MessageId),
    status,
    vendorCode: textOf(ErrorCode),
    at: reportedAt(report.ReceiveDate, now),
  })
}

/** Aliyun checks only that `code` is the number 0; anything else, or a slow answer, is pushed again later. */
const ANSWER = '{"code":0,"msg":"接收成功"}'

/**
 * Alibaba Cloud SMS delivery reports, "HTTP批量推送" (console: 通用设置 / 回执消息配置, message type SmsReport):
 * a JSON array of reports POSTed to `/receipts/aliyun/<token>`, unsigned (the path token is the guard). `out_id`
 * is the OutId the hook sent (its reference), `biz_id` the BizId SendSms answered.
 */
export const aliyunReceipts: ReceiptVendor = {
  provider: 'aliyun',
  auth: 'token',
  methods: ['POST'],
  probe: true,
  // A push carries many reports of ~300 bytes each; Aliyun documents no batch size.
  maxBodyBytes: 512 * 1024,
  parse: (request: ReceiptRequest, now: number) => parseReports(request.body, now, readReport),
  answer: () => new Response(ANSWER, { status: 200, headers: { 'content-type': 'application/json; charset=UTF-8' } }),
}
