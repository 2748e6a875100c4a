import * as z from 'zod/mini'
import type { DeliveryStatus } from '../delivery/types.js'
import { reportedAt } from './china-time.js'
import { parseReports, reportUpdate, textOf, type ReportReader } from './json-array.js'
import type { ReceiptRequest, ReceiptVendor } from './types.js'

/** Longer than any id or code Alibaba Cloud writes: a field past it is not one of its reports. */
const MAX_FIELD = 256
const field = z.optional(z.nullable(z.string().check(z.maxLength(MAX_FIELD))))

/**
 * `SmsReport` (and the Dypns test route's `DypnsSmsVerifyReport`, which has the same fields): only the fields the
 * hook reads are checked; the number (`phone_number`) is never read, so that it is never kept.
 */
const smsReport = z.object({
  success: z.boolean(),
  err_code: field,
  biz_id: field,
  out_id: field,
  report_time: z.optional(z.unknown()),
})

/** The report of an international send (SendMessageToGlobe): `Status` "1" delivered, "2" failed, "6" expired. */
const globeReport = z.object({
  Status: z.union([z.string().check(z.maxLength(MAX_FIELD)), z.number()]),
  MessageId: field,
  ErrorCode: field,
  ReceiveDate: z.optional(z.unknown()),
})

const GLOBE_STATUS: Readonly<Record<string, DeliveryStatus>> = { '1': 'delivered', '2': 'failed', '6': 'expired' }

const readReport: ReportReader = (element, now) => {
  if ('success' in element) {
    const report = smsReport.safeParse(element)
    if (!report.success) return undefined
    const { success, err_code, biz_id, out_id, report_time } = report.data
    return reportUpdate({
      provider: 'aliyun',
      reference: textOf(out_id),
      vendorMessageId: textOf(biz_id),
      status: success ? 'delivered' : 'failed',
      // Aliyun writes DELIVERED on success; a failure's code (MK:0001, IC:0015, ...) says why the carrier dropped it.
      vendorCode: textOf(err_code) ?? (success ? 'DELIVERED' : undefined),
      at: reportedAt(report_time, now),
    })
  }
  const report = globeReport.safeParse(element)
  if (!report.success) return undefined
  const status = GLOBE_STATUS[String(report.data.Status)]
  if (status === undefined) return undefined
  return reportUpdate({
    provider: 'aliyun',
    vendorMessageId: textOf(report.data.MessageId),
    status,
    vendorCode: textOf(report.data.ErrorCode),
    at: reportedAt(report.data.ReceiveDate, now),
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
  // A push carries many reports of ~300 bytes each; Aliyun documents no batch size.
  maxBodyBytes: 512 * 1024,
  parse: (request: ReceiptRequest, now: number) => parseReports(request.body, now, readReport),
  answer: () => new Response(ANSWER, { status: 200, headers: { 'content-type': 'application/json; charset=UTF-8' } }),
}
