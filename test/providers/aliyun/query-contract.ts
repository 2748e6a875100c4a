/**
 * `Provider.query` of the aliyun provider (QuerySendDetails) against the fake Alibaba Cloud endpoint, which
 * lists what SendSms accepted as Aliyun does; `fetch.test.ts` and `sdk.test.ts` run it for each transport.
 */
import { describe, expect, it } from 'vitest'
import { systemClock } from '../../../src/clock.js'
import type { Env } from '../../../src/config/index.js'
import type { DeliveryRecord } from '../../../src/delivery/types.js'
import { isProviderError, type ProviderError } from '../../../src/errors.js'
import { maskPhone, silentLogger } from '../../../src/log.js'
import { aliyunWith, type AliyunTransportFactory } from '../../../src/providers/aliyun/index.js'
import { chinaDate } from '../../../src/providers/aliyun/query.js'
import type { SmsMessage } from '../../../src/providers/types.js'
import { FAKE_ALIYUN } from '../../fakes/aliyun-accounts.js'
import { smsMessage } from '../../support/payloads.js'
import { aliyunEnv, callsFor, report, script, uniqueMainlandPhone } from './fake.js'

const digits = (n: number) => String(Math.floor(Math.random() * 10 ** n)).padStart(n, '0')

export const describeAliyunQueryContract = (transport: 'fetch' | 'sdk', sdk?: AliyunTransportFactory) => {
  const definition = aliyunWith(sdk)
  const providerFor = (env: Env = {}) =>
    definition.create(definition.parse(aliyunEnv({ GOTRUE_SMS_ALIYUN_TRANSPORT: transport, ...env })), {
      clock: systemClock,
      fetch: globalThis.fetch,
      logger: silentLogger,
    })
  const intl = { GOTRUE_SMS_ALIYUN_INTL_TEMPLATE_CODE: FAKE_ALIYUN.internationalTemplates[0] }

  /** Sends `m` for real, as the hook would, and returns the record the hook keeps of it. */
  const sent = async (m: SmsMessage, env: Env = {}, outcome: 'accepted' | 'unknown' = 'unknown') => {
    const sentAt = Date.now()
    const { messageId } = await providerFor(env).send(m, { signal: AbortSignal.timeout(3000), deadline: sentAt + 3000 })
    const record: DeliveryRecord = {
      reference: m.reference,
      provider: 'aliyun',
      status: outcome,
      ...(outcome === 'accepted' ? { vendorMessageId: messageId } : {}),
      sentAt,
      statusAt: sentAt,
      to: maskPhone(m.to.e164),
      number: 'f'.repeat(32),
      country: m.to.callingCode,
    }
    return { record, bizId: messageId }
  }

  const ask = (record: DeliveryRecord, m: SmsMessage, env: Env = {}, ms = 3000) =>
    providerFor(env).query!(record, { signal: AbortSignal.timeout(ms), to: m.to })

  const queries = async (m: SmsMessage, phone = m.to.national) =>
    (await callsFor(phone)).filter((call) => call.action === 'QuerySendDetails')

  const failure = async (promise: Promise<unknown>): Promise<ProviderError> => {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    )
    if (!isProviderError(error)) throw new Error(`expected a ProviderError, got ${String(error)}`)
    return error
  }

  const message = (to = uniqueMainlandPhone()) => smsMessage({ to, otp: `9${digits(5)}`, text: 'unused' })

  describe(`aliyun QuerySendDetails over the ${transport} transport`, () => {
    it('asks signed, by the 11-digit number, the China date of the send, one page of 50 and the BizId', async () => {
      const m = message()
      const { record, bizId } = await sent(m, {}, 'accepted')
      expect(await ask(record, m)).toBeUndefined()
      const [call, ...more] = await queries(m)
      expect(more).toHaveLength(0)
      expect(call).toMatchObject({
        action: 'QuerySendDetails',
        version: '2017-05-25',
        signatureValid: true,
        accessKeyId: FAKE_ALIYUN.accessKeyId,
        answer: { status: 200, code: 'OK' },
      })
      expect(call!.params).toEqual({
        PhoneNumber: m.to.national,
        SendDate: chinaDate(record.sentAt),
        PageSize: '50',
        CurrentPage: '1',
        BizId: bizId,
      })
    })

    it('reads SendStatus 3 as delivered at the ReceiveDate, matched by OutId without a BizId', async () => {
      const m = message()
      const { record, bizId } = await sent(m)
      const before = Date.now()
      await report(m.reference, 'delivered')
      const update = await ask(record, m)
      expect(update).toEqual({
        provider: 'aliyun',
        reference: m.reference,
        status: 'delivered',
        vendorCode: 'DELIVERED',
        at: expect.any(Number),
      })
      // ReceiveDate has whole seconds.
      expect(update!.at).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000)
      expect(update!.at).toBeLessThanOrEqual(Date.now())
      expect((await queries(m))[0]!.params.BizId).toBeUndefined()
      expect(bizId).toMatch(/^\d+\^0$/)
    })

    it('reads SendStatus 2 as failed with the ErrCode, and gives the BizId it asked by', async () => {
      const m = message()
      const { record, bizId } = await sent(m, {}, 'accepted')
      await report(bizId, 'failed', 'MK:0012')
      expect(await ask(record, m)).toMatchObject({
        provider: 'aliyun',
        reference: m.reference,
        vendorMessageId: bizId,
        status: 'failed',
        vendorCode: 'MK:0012',
      })
    })

    it('tells one send from another to the same number on the same day by OutId', async () => {
      const to = uniqueMainlandPhone()
      const first = message(to)
      const second = message(to)
      const { record } = await sent(first)
      await sent(second)
      await report(second.reference, 'delivered')
      expect(await ask(record, first)).toBeUndefined()
      await report(first.reference, 'failed', 'MK:0001')
      expect(await ask(record, first)).toMatchObject({ reference: first.reference, status: 'failed' })
    })

    it('has no word for a send Aliyun never listed (the request never reached it)', async () => {
      const m = message()
      const record: DeliveryRecord = {
        reference: m.reference,
        provider: 'aliyun',
        status: 'unknown',
        sentAt: Date.now(),
        statusAt: Date.now(),
        to: maskPhone(m.to.e164),
        number: 'f'.repeat(32),
        country: '86',
      }
      expect(await ask(record, m)).toBeUndefined()
      expect(await queries(m)).toMatchObject([{ signatureValid: true, answer: { code: 'OK' } }])
    })

    it('asks by the E.164 digits for a number outside mainland China, as SendSms sent it', async () => {
      const m = message(`4477009${digits(5)}`)
      const { record } = await sent(m, intl)
      await report(m.reference, 'delivered')
      expect(await ask(record, m, intl)).toMatchObject({ status: 'delivered' })
      expect((await queries(m, m.to.e164))[0]!.params.PhoneNumber).toBe(m.to.e164)
    })

    it('rejects a RAM user without dysms:QuerySendDetails as configuration, naming the permission', async () => {
      const m = message()
      const { record } = await sent(m)
      await script(`QuerySendDetails:${m.to.national}`, { status: 403, code: 'isp.RAM_PERMISSION_DENY' })
      const error = await failure(ask(record, m))
      expect(error).toMatchObject({ kind: 'configuration', providerCode: 'isp.RAM_PERMISSION_DENY' })
      expect(error.message).toContain('dysms:QuerySendDetails')
    })

    it('rejects throttling as retryable, with no number in the message', async () => {
      const m = message()
      const { record } = await sent(m)
      await script(`QuerySendDetails:${m.to.national}`, {
        status: 400,
        code: 'Throttling.User',
        message: `Request was denied due to user flow control for ${m.to.national}`,
      })
      const error = await failure(ask(record, m))
      expect(error).toMatchObject({ kind: 'retryable', providerCode: 'Throttling.User' })
      expect(error.message).not.toContain(m.to.national)
    })

    if (transport === 'fetch') {
      it('stops at the signal when Aliyun does not answer, with no number in the message', async () => {
        const m = message()
        const { record } = await sent(m)
        await script(`QuerySendDetails:${m.to.national}`, { hang: true })
        const error = await failure(ask(record, m, {}, 300))
        expect(error.kind).toBe('retryable')
        expect(error.message).not.toContain(m.to.national)
      })
    }

    it('has no query on the test route: dypnsapi lists no sends', () => {
      expect(providerFor({ GOTRUE_SMS_ALIYUN_IS_TEST: 'true' }).query).toBeUndefined()
      expect(providerFor().query).toBeTypeOf('function')
    })
  })
}
