/** Node only: the official SDK needs Node's http. */
import Dysmsapi, * as $Dysmsapi from '@alicloud/dysmsapi20170525'
import { $OpenApiUtil } from '@alicloud/openapi-core'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../../../src/log.js'
import { systemClock } from '../../../src/clock.js'
import { aliyunWith } from '../../../src/providers/aliyun/index.js'
import { chinaDate } from '../../../src/providers/aliyun/query.js'
import { createSdkTransport } from '../../../src/providers/aliyun/sdk-transport.js'
import { FAKE_ALIYUN } from '../../fakes/aliyun-accounts.js'
import { smsMessage } from '../../support/payloads.js'
import { describeAliyunContract } from './contract.js'
import { aliyunEnv, callsFor, fakeUrl, report, uniqueMainlandPhone } from './fake.js'
import { describeAliyunQueryContract } from './query-contract.js'

describeAliyunContract('sdk', createSdkTransport)
describeAliyunQueryContract('sdk', createSdkTransport)

/** The SDK is CommonJS: Node's loader hands the whole `exports` to a default import, vitest the class. */
const SmsClient = ((imported: { default: typeof Dysmsapi.default }) =>
  typeof imported === 'function' ? (imported as typeof Dysmsapi.default) : imported.default)(Dysmsapi)

describe('the fake QuerySendDetails, as the official SDK calls and reads it', () => {
  const client = new SmsClient(
    new $OpenApiUtil.Config({
      accessKeyId: FAKE_ALIYUN.accessKeyId,
      accessKeySecret: FAKE_ALIYUN.accessKeySecret,
      endpoint: new URL(fakeUrl()).host,
      protocol: 'HTTP',
    }),
  )

  it('takes the SDK-signed request and answers what the SDK model reads, for a send of our fetch transport', async () => {
    // Sent by the code under test, asked by the SDK alone: the fake's list is Aliyun's shape, not ours.
    const definition = aliyunWith()
    const provider = definition.create(definition.parse(aliyunEnv({ GOTRUE_SMS_ALIYUN_TRANSPORT: 'fetch' })), {
      clock: systemClock,
      fetch: globalThis.fetch,
      logger: silentLogger,
    })
    const m = smsMessage({ to: uniqueMainlandPhone(), otp: '482913' })
    const sentAt = Date.now()
    const { messageId } = await provider.send(m, { signal: AbortSignal.timeout(3000), deadline: sentAt + 3000 })
    await report(m.reference, 'delivered')

    const { body } = await client.querySendDetails(
      new $Dysmsapi.QuerySendDetailsRequest({
        phoneNumber: m.to.national,
        sendDate: chinaDate(sentAt),
        pageSize: 50,
        currentPage: 1,
        bizId: messageId,
      }),
    )
    expect(body).toMatchObject({ code: 'OK', totalCount: '1' })
    const [dto, ...more] = body!.smsSendDetailDTOs!.smsSendDetailDTO!
    expect(more).toHaveLength(0)
    expect(dto).toMatchObject({ phoneNum: m.to.national, sendStatus: 3, errCode: 'DELIVERED', outId: m.reference })
    expect(dto!.receiveDate).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/)
    expect(dto!.content).not.toContain(m.otp)
    const calls = (await callsFor(m.to.national)).filter((call) => call.action === 'QuerySendDetails')
    expect(calls).toMatchObject([{ signatureValid: true, answer: { status: 200, code: 'OK' } }])
    // Both sent the same parameters for the same question (the query contract pins ours).
    expect(calls[0]!.params).toEqual({
      PhoneNumber: m.to.national,
      SendDate: chinaDate(sentAt),
      PageSize: '50',
      CurrentPage: '1',
      BizId: messageId,
    })
  })

  it('refuses the SDK-signed request under a wrong secret, as Aliyun does', async () => {
    const wrong = new SmsClient(
      new $OpenApiUtil.Config({
        accessKeyId: FAKE_ALIYUN.accessKeyId,
        accessKeySecret: 'not-the-secret',
        endpoint: new URL(fakeUrl()).host,
        protocol: 'HTTP',
      }),
    )
    const phone = uniqueMainlandPhone().slice(2)
    await expect(
      wrong.querySendDetails(
        new $Dysmsapi.QuerySendDetailsRequest({
          phoneNumber: phone,
          sendDate: chinaDate(Date.now()),
          pageSize: 1,
          currentPage: 1,
        }),
      ),
    ).rejects.toMatchObject({ code: 'SignatureDoesNotMatch' })
    expect(await callsFor(phone)).toMatchObject([{ action: 'QuerySendDetails', signatureValid: false }])
  })
})
