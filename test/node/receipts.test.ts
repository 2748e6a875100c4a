/**
 * Receipts over TCP: the app behind @hono/node-server, pushed to with fetch the way Alibaba Cloud and Tencent
 * Cloud push (a JSON array POSTed to the token path), with reports for sends the hook made through the fakes.
 */
import type { AddressInfo } from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import { afterEach, describe, expect, it } from 'vitest'
import { aliyunEnv, uniqueMainlandPhone } from '../providers/aliyun/fake.js'
import { smsReport } from '../fakes/aliyun-reports.js'
import { vendorEnv } from '../support/routing.js'
import { receiptApp, TOKEN } from '../receipts/support.js'

const servers: ServerType[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))))
})

const listen = async (made: ReturnType<typeof receiptApp>): Promise<string> => {
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: made.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
  })
  servers.push(server)
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

describe('receipts pushed to a real listening server', () => {
  it('takes an Aliyun batch and answers its exact bytes', async () => {
    const made = receiptApp({ env: aliyunEnv() })
    const url = await listen(made)
    const [a, b] = [await made.send(uniqueMainlandPhone()), await made.send(uniqueMainlandPhone())]
    const report = smsReport
    const response = await fetch(`${url}/receipts/aliyun/${TOKEN}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json;charset=UTF-8',
        'user-agent': 'Apache-HttpClient/4.5.13 (Java/1.8.0)',
      },
      body: JSON.stringify([
        report({ out_id: a.reference, biz_id: a.vendorMessageId }),
        report({ success: false, err_code: 'MK:0001', err_msg: '空号', biz_id: b.vendorMessageId }),
      ]),
    })
    expect(response.status).toBe(200)
    expect(Buffer.from(await response.arrayBuffer()).toString('utf8')).toBe('{"code":0,"msg":"接收成功"}')
    expect((await made.deliveries.get(a.reference))?.status).toBe('delivered')
    expect(await made.deliveries.get(b.reference)).toMatchObject({ status: 'failed', vendorCode: 'MK:0001' })

    const wrong = await fetch(`${url}/receipts/aliyun/not-the-token-0123456789`, { method: 'POST', body: '[]' })
    expect(wrong.status).toBe(404)
  })

  it('takes a Tencent push and answers {"result":0,"errmsg":"OK"}', async () => {
    const made = receiptApp({ env: { ...vendorEnv(), SMS_HOOK_ROUTES: '*=tencent' } })
    const url = await listen(made)
    const sent = await made.send(uniqueMainlandPhone())
    const response = await fetch(`${url}/receipts/tencent/${TOKEN}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        {
          user_receive_time: '2026-08-20 18:54:57',
          nationcode: '86',
          mobile: '13900001234',
          report_status: 'SUCCESS',
          errmsg: 'DELIVRD',
          description: '用户短信送达成功',
          sid: sent.vendorMessageId,
          ext: sent.reference,
        },
      ]),
    })
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('{"result":0,"errmsg":"OK"}')
    expect((await made.deliveries.get(sent.reference))?.status).toBe('delivered')
  })
})
