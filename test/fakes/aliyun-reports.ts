/**
 * An SmsReport as Alibaba Cloud's HTTP batch push writes each element of its JSON array (the number as Aliyun
 * writes it, times in China time), with `fields` in place of the defaults.
 */
export const smsReport = (fields: Record<string, unknown> = {}) => ({
  phone_number: '13900001234',
  send_time: '2026-08-20 18:54:52',
  report_time: '2026-08-20 18:54:57',
  success: true,
  err_code: 'DELIVERED',
  err_msg: '用户接收成功',
  sms_size: '1',
  biz_id: '',
  out_id: '',
  ...fields,
})
