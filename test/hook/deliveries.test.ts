/**
 * The hook's use of the delivery records, through the real app: every send is recorded (never the number in
 * clear), and a resend whose last send is not known to be delivered tries the route's other providers first.
 */
import { describe, expect, it } from 'vitest'
import { MemoryDeliveryStore } from '../../src/delivery/memory.js'
import type { DeliveryStore } from '../../src/delivery/types.js'
import { ProviderError } from '../../src/errors.js'
import type { SendResult } from '../../src/providers/types.js'
import { makeApp, ScriptedProvider } from '../support/app.js'
import { manualClock } from '../support/clock.js'
import { numberHash } from '../support/number-key.js'
import { signupPayload } from '../support/payloads.js'
import { vendorEnv, working } from '../support/routing.js'
import { signedPost } from '../support/sign.js'

const phone = '8613800138000'
/** Lets the recording that runs past the answer land. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 10))

const twoProviders = (env: Record<string, string> = {}, deliveries?: DeliveryStore) => {
  const clock = manualClock()
  const twilio = working('twilio')
  const vonage = working('vonage')
  const made = makeApp({
    clock,
    env: { ...vendorEnv(), SMS_HOOK_ROUTES: '*=twilio,vonage', ...env },
    providers: { twilio, vonage },
    ...(deliveries ? { deliveries } : {}),
  })
  const post = async (options: { phone?: string } = {}) => {
    const { body } = signupPayload({ phone: options.phone ?? phone, time: clock.now() })
    const response = await made.app.request(
      '/send-sms',
      signedPost(body, { timestamp: Math.floor(clock.now() / 1000) }),
    )
    await settle()
    clock.advance(1000)
    return response.status
  }
  const sentBy = () => [...twilio.calls, ...vonage.calls].map((call) => call.options)
  return { ...made, clock, twilio, vonage, post, sentBy }
}

describe('every send is recorded', () => {
  it('as accepted, with the vendor message id, the masked number, its keyed hash and calling code, and nothing in clear', async () => {
    const { app, deliveries } = makeApp({ provider: working('console') })
    const { uuid, body, otp } = signupPayload({ phone })
    expect((await app.request('/send-sms', signedPost(body))).status).toBe(200)
    await settle()
    const record = await deliveries!.get(uuid)
    expect(record).toMatchObject({
      reference: uuid,
      provider: 'console',
      status: 'accepted',
      vendorMessageId: `console-${uuid}`,
      to: '86138****8000',
      number: numberHash(phone),
      country: '86',
    })
    expect(await deliveries!.forNumber(numberHash(phone), 10)).toEqual([record])
    const kept = JSON.stringify(record)
    expect(kept).not.toContain(phone.slice(2))
    expect(kept).not.toContain(otp)
  })

  it('as unknown when the provider may have sent it, and moves to accepted when its late answer comes', async () => {
    let answer: (result: SendResult) => void = () => {}
    const provider = new ScriptedProvider(() => new Promise<SendResult>((resolve) => (answer = resolve)), 'console')
    const { app, deliveries } = makeApp({ provider, env: { SMS_HOOK_TIMEOUT: '150ms' } })
    const { uuid, body } = signupPayload({ phone })
    expect((await app.request('/send-sms', signedPost(body))).status).toBe(200)
    await settle()
    expect(await deliveries!.get(uuid)).toMatchObject({ status: 'unknown', provider: 'console' })
    expect((await deliveries!.get(uuid))?.vendorMessageId).toBeUndefined()
    answer({ messageId: 'late-id' })
    await settle()
    expect(await deliveries!.get(uuid)).toMatchObject({ status: 'accepted', vendorMessageId: 'late-id' })
  })

  it('as failed when the late answer is a refusal: nothing was sent after all', async () => {
    let refuse: (error: Error) => void = () => {}
    const provider = new ScriptedProvider(() => new Promise<SendResult>((_, reject) => (refuse = reject)), 'console')
    const { app, deliveries } = makeApp({ provider, env: { SMS_HOOK_TIMEOUT: '150ms' } })
    const { uuid, body } = signupPayload({ phone })
    await app.request('/send-sms', signedPost(body))
    await settle()
    refuse(new ProviderError('recipient_invalid', 'no such number', { providerCode: 'BAD' }))
    await settle()
    expect(await deliveries!.get(uuid)).toMatchObject({ status: 'failed', vendorCode: 'recipient_invalid' })
  })

  it('not at all for a refusal before sending, or with SMS_HOOK_RECEIPTS=off', async () => {
    const refusing = new ScriptedProvider(async () => {
      throw new ProviderError('recipient_invalid', 'no such number', { providerCode: 'BAD' })
    }, 'console')
    const refused = makeApp({ provider: refusing })
    const first = signupPayload({ phone })
    await refused.app.request('/send-sms', signedPost(first.body))
    expect(refusing.calls).toHaveLength(1)
    // Even given a store, an app with records off writes none.
    const kept = new MemoryDeliveryStore({ clock: manualClock() })
    const off = makeApp({ provider: working('console'), env: { SMS_HOOK_RECEIPTS: 'off' }, deliveries: kept })
    const second = signupPayload({ phone })
    expect((await off.app.request('/send-sms', signedPost(second.body))).status).toBe(200)
    await settle()
    expect(await refused.deliveries!.get(first.uuid)).toBeUndefined()
    expect(await kept.get(second.uuid)).toBeUndefined()
    expect(await kept.forNumber(numberHash(phone), 10)).toEqual([])
  })

  it('a failing delivery store costs the call nothing: answered as sent, the failure logged', async () => {
    const broken = new MemoryDeliveryStore({ clock: manualClock() })
    broken.record = async () => {
      throw new Error('disk on fire')
    }
    const { app, logs, events } = makeApp({ provider: working('console'), deliveries: broken })
    expect((await app.request('/send-sms', signedPost(signupPayload({ phone }).body))).status).toBe(200)
    await settle()
    expect(
      events.filter((e) => e.type === 'delivery_error').map((e) => e.type === 'delivery_error' && e.phase),
    ).toEqual(['record'])
    expect(logs.find((l) => l.msg === 'delivery records failed to record a send')).toMatchObject({ level: 'error' })
  })
})

describe('a resend goes another way (SMS_HOOK_RESEND_WINDOW, SMS_HOOK_RESEND_ROTATE)', () => {
  it('tries the other provider first when the last send to the number has no final receipt, and says so', async () => {
    const { post, twilio, vonage, events, logs } = twoProviders()
    expect(await post()).toBe(200)
    expect(await post()).toBe(200)
    expect([twilio.calls.length, vonage.calls.length]).toEqual([1, 1])
    expect(events.find((e) => e.type === 'resend_rotated')).toMatchObject({ from: 'twilio', to: 'vonage' })
    expect(logs.find((l) => l.msg === 'resend: trying another provider first')).toMatchObject({
      provider: 'vonage',
      previous_provider: 'twilio',
      phone: '86138****8000',
    })
    // The third goes back to twilio: vonage's send is now the last one, and is not known to be delivered either.
    expect(await post()).toBe(200)
    expect(twilio.calls).toHaveLength(2)
  })

  it('keeps the order when the last send was delivered, for another number, outside the window, or with rotation off', async () => {
    const delivered = twoProviders()
    await delivered.post()
    const [last] = await delivered.deliveries!.forNumber(numberHash(phone), 1)
    await delivered.deliveries!.apply(
      { provider: 'twilio', reference: last!.reference, status: 'delivered', at: delivered.clock.now() },
      60_000,
    )
    await delivered.post()
    expect(delivered.twilio.calls).toHaveLength(2)

    const other = twoProviders()
    await other.post()
    await other.post({ phone: '8613900139000' })
    expect(other.twilio.calls).toHaveLength(2)

    const late = twoProviders({ SMS_HOOK_RESEND_WINDOW: '10m' })
    await late.post()
    late.clock.advance(10 * 60_000 + 1)
    expect(await late.post()).toBe(200)
    expect(late.twilio.calls).toHaveLength(2)

    const off = twoProviders({ SMS_HOOK_RESEND_ROTATE: 'off' })
    await off.post()
    await off.post()
    expect(off.twilio.calls).toHaveLength(2)
    for (const made of [delivered, other, late, off]) {
      expect(made.events.some((e) => e.type === 'resend_rotated')).toBe(false)
    }
  })

  it('after a failed send too, and a route of one provider has nothing to rotate', async () => {
    const failed = twoProviders()
    await failed.post()
    const [last] = await failed.deliveries!.forNumber(numberHash(phone), 1)
    await failed.deliveries!.apply(
      { provider: 'twilio', reference: last!.reference, status: 'failed', vendorCode: '30008', at: failed.clock.now() },
      60_000,
    )
    await failed.post()
    expect(failed.vonage.calls).toHaveLength(1)

    const single = makeApp({ provider: working('console') })
    for (let i = 0; i < 2; i++) await single.app.request('/send-sms', signedPost(signupPayload({ phone }).body))
    expect(single.events.some((e) => e.type === 'resend_rotated')).toBe(false)
  })

  it('a delivery store that cannot be read leaves the route as it is and the call is sent', async () => {
    const broken = new MemoryDeliveryStore({ clock: manualClock() })
    broken.forNumber = async () => {
      throw new Error('no answer')
    }
    const { post, twilio, events } = twoProviders({}, broken)
    expect(await post()).toBe(200)
    expect(await post()).toBe(200)
    expect(twilio.calls).toHaveLength(2)
    expect(events.filter((e) => e.type === 'delivery_error').length).toBe(2)
  })

  it('the guard, failover and the breaker work as before: a rotated route still fails over to the previous provider', async () => {
    const clock = manualClock()
    const twilio = working('twilio')
    const vonage = new ScriptedProvider(async () => {
      throw new ProviderError('retryable', 'down', { providerCode: '503' })
    }, 'vonage')
    const { app } = makeApp({
      clock,
      env: { ...vendorEnv(), SMS_HOOK_ROUTES: '*=twilio,vonage' },
      providers: { twilio, vonage },
    })
    for (let i = 0; i < 2; i++) {
      const { body } = signupPayload({ phone, time: clock.now() })
      expect((await app.request('/send-sms', signedPost(body))).status).toBe(200)
      await settle()
    }
    // The resend tried vonage first, which failed: twilio, last, sent it.
    expect([twilio.calls.length, vonage.calls.length]).toEqual([2, 1])
  })
})
