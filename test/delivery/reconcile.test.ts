/**
 * Reconciliation end to end: the real Alibaba Cloud provider sends through the fake endpoint over HTTP, the send
 * is kept as the hook keeps an unknown outcome (a memory store, a manual clock), and the reconciler asks
 * QuerySendDetails when the schedule says, until the fake reports the carrier's receipt.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { systemClock } from '../../src/clock.js'
import { MemoryDeliveryStore } from '../../src/delivery/memory.js'
import { createNumberKey, createNumberSeal } from '../../src/delivery/number-key.js'
import {
  createReconciler,
  firstReconcileAt,
  nextReconcileAt,
  type ReconcilerDeps,
} from '../../src/delivery/reconcile.js'
import type { DeliveryRecord } from '../../src/delivery/types.js'
import { MemoryInbox } from '../../src/dev/inbox.js'
import type { HookEvent } from '../../src/hook/events.js'
import { maskPhone, silentLogger } from '../../src/log.js'
import { aliyun } from '../../src/providers/aliyun/index.js'
import { consoleProvider } from '../../src/providers/console.js'
import type { SmsMessage } from '../../src/providers/types.js'
import { manualClock, type ManualClock } from '../support/clock.js'
import { smsMessage } from '../support/payloads.js'
import { aliyunEnv, callsFor, report, script, uniqueMainlandPhone } from '../providers/aliyun/fake.js'

const TTL_MS = 24 * 3_600_000
const MATERIAL = 'the admin token of this deployment'
const numberKey = createNumberKey(MATERIAL)
const seal = createNumberSeal(MATERIAL)

// The provider signs with the real clock, which the fake checks; the store and the reconciler run on the manual one.
const providerDeps = { clock: systemClock, fetch: globalThis.fetch, logger: silentLogger }
const aliyunProvider = aliyun.create(aliyun.parse(aliyunEnv({ GOTRUE_SMS_ALIYUN_TRANSPORT: 'fetch' })), providerDeps)
const consoleOne = consoleProvider.create(consoleProvider.parse({}), { ...providerDeps, inbox: new MemoryInbox() })

let clock: ManualClock
let store: MemoryDeliveryStore
let events: HookEvent[]
/** Every message of these tests, whose numbers must never be found in the store or the events. */
const messages: SmsMessage[] = []

beforeEach(() => {
  clock = manualClock()
  store = new MemoryDeliveryStore({ clock })
  events = []
})

const reconciler = (overrides: Partial<ReconcilerDeps> = {}) =>
  createReconciler({
    deliveries: store,
    providers: { aliyun: aliyunProvider, console: consoleOne },
    clock,
    observe: (event) => events.push(event),
    ttlMs: TTL_MS,
    seal,
    ...overrides,
  })

const message = () => {
  const m = smsMessage({ to: uniqueMainlandPhone(), otp: String(100000 + Math.floor(Math.random() * 900000)) })
  messages.push(m)
  return m
}

/**
 * Sends `m` through Aliyun for real, then keeps it as the hook keeps a send whose answer never came: `unknown`,
 * no BizId, the number sealed, the first question scheduled.
 */
const sendUnknown = async (m: SmsMessage, fields: Partial<DeliveryRecord> = {}) =>
  (await sendUnknownWithId(m, fields)).record

/** `sendUnknown`, with the BizId SendSms answered, which the kept record does not know. */
const sendUnknownWithId = async (m: SmsMessage, fields: Partial<DeliveryRecord> = {}) => {
  const { messageId } = await aliyunProvider.send(m, { signal: AbortSignal.timeout(3000), deadline: Date.now() + 3000 })
  const now = clock.now()
  const record: DeliveryRecord = {
    reference: m.reference,
    provider: 'aliyun',
    status: 'unknown',
    sentAt: now,
    statusAt: now,
    to: maskPhone(m.to.e164),
    number: await numberKey(m.to.e164),
    country: m.to.callingCode,
    reconcileAt: firstReconcileAt(now),
    sealed: await seal.seal(m.to.e164),
    ...fields,
  }
  await store.record(record, TTL_MS)
  return { record, bizId: messageId }
}

const queriesFor = async (m: SmsMessage) =>
  (await callsFor(m.to.national)).filter((call) => call.action === 'QuerySendDetails')

const receipts = () => events.filter((event) => event.type === 'receipt')
const errors = () => events.filter((event) => event.type === 'delivery_error')

/** The store and the events as JSON: where a number in clear would show. */
const expectNoClearNumber = async (references: string[]) => {
  const kept = await Promise.all(references.map((reference) => store.get(reference)))
  const text = JSON.stringify({ kept, events }, (_key, value: unknown) =>
    value instanceof Error ? `${value.name}: ${value.message}` : value,
  )
  for (const m of messages) {
    expect(text).not.toContain(m.to.e164)
    expect(text).not.toContain(m.to.national)
  }
}

describe('the reconciliation schedule', () => {
  it('asks 45 s after the send, then at 2, 5 and 15 minutes, then every hour, never past the TTL', () => {
    const sentAt = 1_000_000
    expect(firstReconcileAt(sentAt)).toBe(sentAt + 45_000)
    const steps: number[] = []
    for (let at: number | undefined = firstReconcileAt(sentAt); at !== undefined;) {
      steps.push(at - sentAt)
      at = nextReconcileAt(sentAt, at, 4 * 3_600_000)
    }
    expect(steps).toEqual([45_000, 120_000, 300_000, 900_000, 4_500_000, 8_100_000, 11_700_000])
    // A run that comes late (a process that was down) asks at the next step still ahead.
    expect(nextReconcileAt(sentAt, sentAt + 200_000, TTL_MS)).toBe(sentAt + 300_000)
    expect(nextReconcileAt(sentAt, sentAt + 2 * 3_600_000, TTL_MS)).toBe(sentAt + 900_000 + 2 * 3_600_000)
    expect(nextReconcileAt(sentAt, sentAt + 45_000, 60_000)).toBeUndefined()
  })
})

describe('createReconciler against the fake Alibaba Cloud endpoint', () => {
  it('moves an unknown outcome to delivered once Aliyun lists its receipt, and drops the schedule and the seal', async () => {
    const m = message()
    await sendUnknown(m)
    const run = reconciler()

    expect(await run.run()).toBe(0)
    expect(await queriesFor(m)).toHaveLength(0)

    clock.advance(45_000)
    await report(m.reference, 'delivered')
    expect(await run.run()).toBe(1)

    const kept = await store.get(m.reference)
    expect(kept).toMatchObject({ status: 'delivered', vendorCode: 'DELIVERED', provider: 'aliyun' })
    expect(kept!.deliveredAt).toBeTypeOf('number')
    expect(kept).not.toHaveProperty('reconcileAt')
    expect(kept).not.toHaveProperty('sealed')
    expect(receipts()).toEqual([
      {
        type: 'receipt',
        provider: 'aliyun',
        via: 'reconcile',
        status: 'delivered',
        changed: true,
        record: kept,
        vendorCode: 'DELIVERED',
      },
    ])
    expect(await queriesFor(m)).toMatchObject([{ signatureValid: true, params: { PhoneNumber: m.to.national } }])

    // Nothing is due any more: no second question.
    clock.advance(3_600_000)
    expect(await run.run()).toBe(0)
    expect(await queriesFor(m)).toHaveLength(1)
    await expectNoClearNumber([m.reference])
  })

  it("moves it to failed with Aliyun's ErrCode", async () => {
    const m = message()
    await sendUnknown(m)
    clock.advance(45_000)
    await report(m.reference, 'failed', 'MK:0012')
    await reconciler().run()
    expect(await store.get(m.reference)).toMatchObject({ status: 'failed', vendorCode: 'MK:0012' })
    expect(receipts()).toMatchObject([{ status: 'failed', changed: true, vendorCode: 'MK:0012', via: 'reconcile' }])
    await expectNoClearNumber([m.reference])
  })

  it('leaves a send Aliyun has no receipt for yet pending, and asks again at the next step', async () => {
    const m = message()
    const { sentAt } = await sendUnknown(m)
    const run = reconciler()

    clock.advance(45_000)
    expect(await run.run()).toBe(1)
    expect(await store.get(m.reference)).toMatchObject({ status: 'unknown', reconcileAt: sentAt + 120_000 })
    expect(receipts()).toHaveLength(0)

    // Not due before the step: no question.
    clock.advance(60_000)
    expect(await run.run()).toBe(0)
    expect(await queriesFor(m)).toHaveLength(1)

    clock.advance(15_000)
    expect(await run.run()).toBe(1)
    expect(await store.get(m.reference)).toMatchObject({ status: 'unknown', reconcileAt: sentAt + 300_000 })

    clock.advance(180_000)
    await report(m.reference, 'delivered')
    expect(await run.run()).toBe(1)
    expect(await store.get(m.reference)).toMatchObject({ status: 'delivered' })
    expect(await queriesFor(m)).toHaveLength(3)
    await expectNoClearNumber([m.reference])
  })

  it('asks by BizId too once the late answer of SendSms is merged in', async () => {
    const m = message()
    const { record, bizId } = await sendUnknownWithId(m)
    // The late outcome of the same call, recorded as the hook records it: accepted, with the BizId.
    const { sealed: _sealed, reconcileAt: _at, ...rest } = record
    await store.record({ ...rest, status: 'accepted', vendorMessageId: bizId, statusAt: clock.now() }, TTL_MS)
    clock.advance(45_000)
    await report(bizId, 'delivered')
    await reconciler().run()
    expect(await store.get(m.reference)).toMatchObject({ status: 'delivered', vendorMessageId: bizId })
    expect(await queriesFor(m)).toMatchObject([{ params: { BizId: bizId } }])
    await expectNoClearNumber([m.reference])
  })

  it('reschedules on a refusal and reports delivery_error, then gets the answer at the next step', async () => {
    const m = message()
    const { sentAt } = await sendUnknown(m)
    await script(`QuerySendDetails:${m.to.national}`, { status: 403, code: 'isp.RAM_PERMISSION_DENY' })
    const run = reconciler()

    clock.advance(45_000)
    expect(await run.run()).toBe(1)
    expect(await store.get(m.reference)).toMatchObject({ status: 'unknown', reconcileAt: sentAt + 120_000 })
    expect(errors()).toMatchObject([{ type: 'delivery_error', phase: 'reconcile', key: m.reference }])
    const error = (errors()[0] as { error: Error }).error
    expect(error.message).toContain('dysms:QuerySendDetails')

    clock.advance(75_000)
    await report(m.reference, 'delivered')
    await run.run()
    expect(await store.get(m.reference)).toMatchObject({ status: 'delivered' })
    expect(errors()).toHaveLength(1)
    await expectNoClearNumber([m.reference])
  })

  it('gives up on a question after its timeout, reschedules, and runs never overlap', async () => {
    const m = message()
    const { sentAt } = await sendUnknown(m)
    await script(`QuerySendDetails:${m.to.national}`, { hang: true })
    const run = reconciler({ timeoutMs: 300 })

    clock.advance(45_000)
    const first = run.run()
    expect(await run.run()).toBe(0)
    expect(await first).toBe(1)
    expect(errors()).toMatchObject([{ phase: 'reconcile', key: m.reference, error: { name: 'TimeoutError' } }])
    expect(await store.get(m.reference)).toMatchObject({ status: 'unknown', reconcileAt: sentAt + 120_000 })
  })

  it('leaves the sends of providers without query to their receipts, and of providers no longer configured', async () => {
    const now = clock.now()
    const base = {
      status: 'unknown' as const,
      sentAt: now,
      statusAt: now,
      to: '+44770****0123',
      number: 'b'.repeat(32),
      country: '44',
      reconcileAt: firstReconcileAt(now),
      sealed: await seal.seal('447700900123'),
    }
    await store.record({ ...base, reference: 'console-send', provider: 'console' }, TTL_MS)
    await store.record({ ...base, reference: 'twilio-send', provider: 'twilio' }, TTL_MS)
    clock.advance(45_000)
    expect(await reconciler().run()).toBe(2)
    for (const reference of ['console-send', 'twilio-send']) {
      const kept = await store.get(reference)
      expect(kept).toMatchObject({ status: 'unknown' })
      expect(kept).not.toHaveProperty('reconcileAt')
    }
    expect(await store.due(clock.now() + TTL_MS, 10)).toEqual([])
    expect(events).toEqual([])
  })

  it('does not ask about a send without a sealed number, or one sealed under another key', async () => {
    const bare = message()
    await sendUnknown(bare, { sealed: undefined })
    const foreign = message()
    await sendUnknown(foreign, { sealed: await createNumberSeal('a key of before the rotation').seal(foreign.to.e164) })
    clock.advance(45_000)
    expect(await reconciler().run()).toBe(2)
    for (const m of [bare, foreign]) {
      expect(await store.get(m.reference)).not.toHaveProperty('reconcileAt')
      expect(await queriesFor(m)).toHaveLength(0)
    }
    expect(errors()).toMatchObject([{ phase: 'reconcile', key: foreign.reference }])
    await expectNoClearNumber([bare.reference, foreign.reference])
  })

  it('asks a last time within the TTL, then no more', async () => {
    const m = message()
    await sendUnknown(m)
    const run = reconciler({ ttlMs: 100_000 })
    clock.advance(45_000)
    expect(await run.run()).toBe(1)
    expect(await queriesFor(m)).toHaveLength(1)
    expect(await store.get(m.reference)).not.toHaveProperty('reconcileAt')
  })

  it('reports a store that fails and resolves all the same', async () => {
    const failing = Object.assign(Object.create(store) as MemoryDeliveryStore, {
      due: async () => {
        throw new Error('state unavailable')
      },
    })
    expect(await reconciler({ deliveries: failing }).run()).toBe(0)
    expect(errors()).toMatchObject([{ phase: 'reconcile', error: { message: 'state unavailable' } }])
  })

  it('looks at one batch per run, oldest first', async () => {
    const sent = [message(), message(), message()]
    for (const m of sent) {
      await sendUnknown(m)
      clock.advance(1_000)
    }
    clock.advance(45_000)
    const run = reconciler({ batch: 2 })
    expect(await run.run()).toBe(2)
    expect(await queriesFor(sent[2]!)).toHaveLength(0)
    expect(await run.run()).toBe(1)
    expect(await queriesFor(sent[2]!)).toHaveLength(1)
  })
})
