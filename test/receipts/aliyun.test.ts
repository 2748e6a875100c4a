import { describe, expect, it } from 'vitest'
import { errorBody } from '../../src/errors.js'
import { aliyunEnv, callsFor, uniqueMainlandPhone } from '../providers/aliyun/fake.js'
import { smsReport } from '../fakes/aliyun-reports.js'
import { manualClock } from '../support/clock.js'
import { chinaMs, chinaText, receiptApp, TOKEN } from './support.js'

const PATH = `/receipts/aliyun/${TOKEN}`
const ANSWER = '{"code":0,"msg":"接收成功"}'

const aliyunApp = (options: Parameters<typeof receiptApp>[0] = {}) =>
  receiptApp({ ...options, env: aliyunEnv(options.env) })

describe('Alibaba Cloud SmsReport pushes', () => {
  it('moves the send it answers to delivered, and answers as Aliyun expects', async () => {
    const made = aliyunApp()
    const phone = uniqueMainlandPhone()
    const sent = await made.send(phone)
    // The reference the report echoes is the OutId the hook sent, and biz_id the BizId Aliyun answered.
    const [call] = await callsFor(sent.reference)
    expect(call?.params.OutId).toBe(sent.reference)
    expect(sent.vendorMessageId).toBeTruthy()

    const response = await made.push(PATH, [
      smsReport({ phone_number: phone.slice(2), out_id: sent.reference, biz_id: sent.vendorMessageId }),
    ])
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^application\/json/)
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(new TextEncoder().encode(ANSWER))

    const record = await made.deliveries.get(sent.reference)
    expect(record).toMatchObject({
      status: 'delivered',
      vendorCode: 'DELIVERED',
      statusAt: chinaMs('2026-08-20 18:54:57'),
      deliveredAt: chinaMs('2026-08-20 18:54:57'),
      vendorMessageId: sent.vendorMessageId,
    })
    expect(made.receipts()).toEqual([
      expect.objectContaining({ provider: 'aliyun', via: 'receipt', status: 'delivered', changed: true, record }),
    ])
    // The final receipt's log line, with the masked number only.
    const line = made.logs.find((l) => l.msg === 'delivery')
    expect(line).toMatchObject({ provider: 'aliyun', status: 'delivered', vendor_code: 'DELIVERED', phone: sent.to })
    expect(JSON.stringify(made.logs)).not.toContain(phone)
  })

  it('reads success false as failed, with the carrier code', async () => {
    const made = aliyunApp()
    const sent = await made.send(uniqueMainlandPhone())
    const failed = smsReport({ success: false, err_code: 'MK:0001', err_msg: '空号', out_id: sent.reference })
    expect((await made.push(PATH, [failed])).status).toBe(200)
    const record = await made.deliveries.get(sent.reference)
    expect(record).toMatchObject({ status: 'failed', vendorCode: 'MK:0001' })
    expect(record?.deliveredAt).toBeUndefined()
    expect(made.receipts()).toEqual([
      expect.objectContaining({ status: 'failed', changed: true, vendorCode: 'MK:0001' }),
    ])
  })

  it('finds the send by biz_id when out_id is empty', async () => {
    const made = aliyunApp()
    const sent = await made.send(uniqueMainlandPhone())
    expect((await made.push(PATH, [smsReport({ biz_id: sent.vendorMessageId })])).status).toBe(200)
    expect((await made.deliveries.get(sent.reference))?.status).toBe('delivered')
  })

  it('changes nothing on a repeat, and keeps the first final word of reports out of order', async () => {
    const made = aliyunApp()
    const sent = await made.send(uniqueMainlandPhone())
    const delivered = smsReport({ out_id: sent.reference, report_time: '2026-08-20 18:55:00' })
    expect((await made.push(PATH, [delivered])).status).toBe(200)
    const after = await made.deliveries.get(sent.reference)

    // Pushed again (Aliyun's retry), then a failure report written earlier that arrives later.
    const repeat = await made.push(PATH, [delivered])
    expect(repeat.status).toBe(200)
    expect(await repeat.text()).toBe(ANSWER)
    const late = smsReport({
      out_id: sent.reference,
      success: false,
      err_code: 'IC:0015',
      report_time: '2026-08-20 18:54:58',
    })
    expect((await made.push(PATH, [late])).status).toBe(200)

    expect(await made.deliveries.get(sent.reference)).toEqual(after)
    expect(made.receipts().map((e) => [e.status, e.changed, e.record?.status])).toEqual([
      ['delivered', true, 'delivered'],
      ['delivered', false, 'delivered'],
      ['failed', false, 'delivered'],
    ])
    // Only the change is a delivery line.
    expect(made.logs.filter((l) => l.msg === 'delivery')).toHaveLength(1)
  })

  it('counts a report for no kept send as unmatched, and a Tencent send is not moved by an Aliyun report', async () => {
    const made = aliyunApp()
    const other = await made.send(uniqueMainlandPhone())
    // A Tencent send with the same reference the report names.
    const tencentSend = { ...other, reference: 'tencent-ref-1', provider: 'tencent', vendorMessageId: '2433:1' }
    await made.deliveries.record(tencentSend, made.config.delivery.ttlMs)

    const response = await made.push(PATH, [
      smsReport({ out_id: 'no-such-reference', biz_id: '999999^0' }),
      smsReport({ out_id: 'tencent-ref-1', biz_id: '2433:1' }),
    ])
    expect(response.status).toBe(200)
    expect(await response.text()).toBe(ANSWER)
    expect(made.receipts().map((e) => [e.status, e.changed])).toEqual([
      ['unmatched', false],
      ['unmatched', false],
    ])
    expect((await made.deliveries.get('tencent-ref-1'))?.status).toBe('accepted')
    expect((await made.deliveries.get(other.reference))?.status).toBe('accepted')
  })

  it('takes the good reports of a batch with malformed ones, and refuses each malformed one', async () => {
    const made = aliyunApp()
    const [a, b] = [await made.send(uniqueMainlandPhone()), await made.send(uniqueMainlandPhone())]
    const response = await made.push(PATH, [
      smsReport({ out_id: a.reference }),
      smsReport({ success: 'true', out_id: b.reference }), // success is a boolean
      42,
      smsReport({}), // neither out_id nor biz_id: no send it could answer
      smsReport({ out_id: 'x'.repeat(300) }),
      null,
      smsReport({ out_id: b.reference, success: false, err_code: 'MK:0005' }),
    ])
    expect(response.status).toBe(200)
    expect(await response.text()).toBe(ANSWER)
    expect((await made.deliveries.get(a.reference))?.status).toBe('delivered')
    expect(await made.deliveries.get(b.reference)).toMatchObject({ status: 'failed', vendorCode: 'MK:0005' })
    const receipts = made.receipts()
    expect(receipts.filter((e) => e.status === 'refused')).toHaveLength(5)
    expect(receipts.filter((e) => e.status === 'refused').every((e) => e.reason === 'malformed report')).toBe(true)
    expect(receipts.filter((e) => e.changed).map((e) => e.status)).toEqual(['delivered', 'failed'])
  })

  it('refuses a body that is not an array of reports as a whole, changing nothing', async () => {
    const made = aliyunApp()
    const sent = await made.send(uniqueMainlandPhone())
    for (const body of [smsReport({ out_id: sent.reference }), '{"reports":[]}', 'not json', '"[]"', '']) {
      const response = await made.push(PATH, body)
      expect(response.status).toBe(400)
      expect(await response.json()).toEqual(errorBody(400, 'Invalid delivery report'))
    }
    expect((await made.deliveries.get(sent.reference))?.status).toBe('accepted')
    expect(made.receipts()).toHaveLength(5)
    expect(made.receipts().every((e) => e.status === 'refused' && e.reason === 'not a delivery report')).toBe(true)
  })

  it('answers an empty array as taken', async () => {
    const made = aliyunApp()
    const response = await made.push(PATH, [])
    expect(response.status).toBe(200)
    expect(await response.text()).toBe(ANSWER)
    expect(made.receipts()).toEqual([])
  })

  it('reads report_time as China time, and the arrival when it is missing, unreadable or ahead of this clock', async () => {
    // The hook's signature window is on the app's clock: it starts at the real time.
    const clock = manualClock(Math.floor(Date.now() / 1000) * 1000)
    const made = aliyunApp({ clock })
    const halfAnHourAgo = clock.now() - 30 * 60_000
    const times: Record<string, unknown> = {
      [chinaText(halfAnHourAgo)]: halfAnHourAgo,
      '2026-02-30 10:00:00': clock.now(), // no such day
      [new Date(halfAnHourAgo).toISOString()]: clock.now(),
      [chinaText(clock.now() + 86_400_000)]: clock.now(), // a day ahead
      missing: clock.now(),
    }
    for (const [text, expected] of Object.entries(times)) {
      const sent = await made.send(uniqueMainlandPhone(), clock.now() - 60_000)
      const report = smsReport({ out_id: sent.reference, report_time: text === 'missing' ? undefined : text })
      expect((await made.push(PATH, [report])).status).toBe(200)
      expect((await made.deliveries.get(sent.reference))?.deliveredAt, text).toBe(expected)
    }
  })

  it("takes the Dypns test route's DypnsSmsVerifyReport in the same form", async () => {
    const made = aliyunApp()
    const sent = await made.send(uniqueMainlandPhone())
    const report = {
      phone_number: '13900001234',
      send_time: '2026-08-20 18:54:52',
      report_time: '2026-08-20 18:54:56',
      success: true,
      err_code: 'DELIVERED',
      err_msg: '用户接收成功',
      sms_size: '1',
      biz_id: sent.vendorMessageId,
      out_id: sent.reference,
      scheme_name: '默认方案',
    }
    expect((await made.push(PATH, [report])).status).toBe(200)
    expect(await made.deliveries.get(sent.reference)).toMatchObject({
      status: 'delivered',
      deliveredAt: chinaMs('2026-08-20 18:54:56'),
    })
  })

  it('takes international reports: Status 1 delivered, 2 failed, 6 expired, matched by MessageId', async () => {
    const made = aliyunApp()
    const sends = [await made.send(uniqueMainlandPhone()), await made.send(uniqueMainlandPhone())]
    const third = await made.send(uniqueMainlandPhone())
    const globe = (status: string, messageId: string | undefined, code: string) => ({
      To: '6591234567',
      Status: status,
      MessageId: messageId,
      SendDate: '2026-08-20 18:54:52',
      ReceiveDate: '2026-08-20 18:54:59',
      ErrorCode: code,
      ErrorDescription: code,
    })
    const response = await made.push(PATH, [
      globe('1', sends[0]!.vendorMessageId, 'DELIVERED'),
      globe('2', sends[1]!.vendorMessageId, 'UNDELIV'),
      globe('6', third.vendorMessageId, 'EXPIRED'),
      globe('9', third.vendorMessageId, 'DELIVERED'), // no such status
      globe('constructor', third.vendorMessageId, 'DELIVERED'),
      { ...globe('1', third.vendorMessageId, 'DELIVERED'), Status: ['1'] },
    ])
    expect(response.status).toBe(200)
    expect(await made.deliveries.get(sends[0]!.reference)).toMatchObject({
      status: 'delivered',
      deliveredAt: chinaMs('2026-08-20 18:54:59'),
    })
    expect(await made.deliveries.get(sends[1]!.reference)).toMatchObject({ status: 'failed', vendorCode: 'UNDELIV' })
    expect(await made.deliveries.get(third.reference)).toMatchObject({ status: 'expired', vendorCode: 'EXPIRED' })
    expect(made.receipts().filter((e) => e.status === 'refused')).toHaveLength(3)
  })
})
