import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it, onTestFinished } from 'vitest'
import type { Clock } from '../../src/clock.js'
import type { DeliveryRecord } from '../../src/delivery/types.js'
import { isStateUnavailableError, isStoreError } from '../../src/errors.js'
import { DeliveryObject, DurableObjectDeliveryStore } from '../../src/worker/delivery-object.js'
import { describeDeliveryContract } from '../store/deliveries-contract.js'
import { manualClock } from '../support/clock.js'
import { call, CONSOLE, isolate } from './support.js'

/** A store of its own (a fresh scope of object names), its objects on `clock` until the case ends. */
const storeOn = (clock: Clock, scope = `${crypto.randomUUID()}/`) => {
  const system = DeliveryObject.clock
  DeliveryObject.clock = clock
  onTestFinished(() => void (DeliveryObject.clock = system))
  return new DurableObjectDeliveryStore(env.DELIVERIES, { scope })
}

describeDeliveryContract('DurableObjectDeliveryStore', () => {
  const clock = manualClock()
  return { store: storeOn(clock), now: clock.now, advance: clock.advance }
})

const DAY = 86_400_000
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const sendOf = (over: Partial<DeliveryRecord> = {}): DeliveryRecord => ({
  reference: crypto.randomUUID(),
  provider: 'aliyun',
  status: 'unknown',
  sentAt: Date.now(),
  statusAt: Date.now(),
  to: '+86138****5678',
  number: crypto.randomUUID().replaceAll('-', ''),
  country: '86',
  reconcileAt: Date.now() + 45_000,
  ...over,
})

/** What each object of a scope holds in storage, by its name. */
const storedIn = (scope: string, name: string) =>
  runInDurableObject(env.DELIVERIES.getByName(`${scope}${name}`), async (_, state) => [
    ...(await state.storage.list()).keys(),
  ])

describe('the Durable Object delivery store across the life of its objects', () => {
  it('keeps a send and its indexes when every object is recreated (evicted, or restarted by a deploy)', async () => {
    const scope = `${crypto.randomUUID()}/`
    const store = new DurableObjectDeliveryStore(env.DELIVERIES, { scope })
    const send = sendOf({ vendorMessageId: 'biz-1' })
    await store.record(send, DAY)
    await abortAllDurableObjects()
    expect(await store.get(send.reference)).toEqual(send)
    expect(await store.forNumber(send.number, 5)).toEqual([send])
    expect(await store.due(send.reconcileAt!, 5)).toEqual([send])
    await abortAllDurableObjects()
    const moved = await store.apply({ provider: 'aliyun', vendorMessageId: 'biz-1', status: 'failed', at: 1 }, DAY)
    expect(moved).toMatchObject({ matched: true, changed: true, previous: 'unknown' })
  })

  it('spreads a send over an object per reference, vendor id and number, and the due object, none with the number', async () => {
    const scope = `${crypto.randomUUID()}/`
    const store = new DurableObjectDeliveryStore(env.DELIVERIES, { scope })
    const send = sendOf({ vendorMessageId: 'biz-2' })
    await store.record(send, DAY)
    expect(await storedIn(scope, `ref:${send.reference}`)).toEqual(['record'])
    expect(await storedIn(scope, 'vid:aliyun:biz-2')).toEqual(['pointer'])
    expect(await storedIn(scope, `num:${send.number}`)).toEqual([`m:${send.reference}`])
    expect(await storedIn(scope, 'due:')).toEqual([`m:${send.reference}`])
    // A final status ends the reconciliation: the due object lets the send go.
    await store.apply({ provider: 'aliyun', reference: send.reference, status: 'delivered', at: Date.now() }, DAY)
    expect(await storedIn(scope, 'due:')).toEqual([])
  })

  it('empties the storage of every object by their alarms once the TTL has passed', async () => {
    const scope = `${crypto.randomUUID()}/`
    const store = new DurableObjectDeliveryStore(env.DELIVERIES, { scope })
    const send = sendOf({ vendorMessageId: 'biz-3' })
    await store.record(send, 1500)
    const names = [`ref:${send.reference}`, 'vid:aliyun:biz-3', `num:${send.number}`, 'due:']
    const stored = async () => (await Promise.all(names.map((name) => storedIn(scope, name)))).flat().length
    expect(await stored()).toBe(4)
    const until = Date.now() + 8000
    while ((await stored()) > 0 && Date.now() < until) await sleep(50)
    expect(await stored()).toBe(0)
    for (const name of names) {
      const stub = env.DELIVERIES.getByName(`${scope}${name}`)
      expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).toBeNull()
    }
  })

  it('keeps a send whose alarm fires early, and sets the alarm again for its end', async () => {
    const scope = `${crypto.randomUUID()}/`
    const store = new DurableObjectDeliveryStore(env.DELIVERIES, { scope })
    const send = sendOf()
    await store.record(send, DAY)
    const stub = env.DELIVERIES.getByName(`${scope}ref:${send.reference}`)
    expect(await runDurableObjectAlarm(stub)).toBe(true)
    expect(await store.get(send.reference)).toEqual(send)
    expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).toBeGreaterThan(Date.now())
  })
})

describe('the Durable Object delivery store when its objects fail', () => {
  /** A namespace whose every object call fails with `error`, as the runtime's stubs reject. */
  const failingWith = (error: Error) => {
    const stub = new Proxy({}, { get: () => () => Promise.reject(error) })
    return new DurableObjectDeliveryStore({
      getByName: () => stub,
    } as unknown as DurableObjectNamespace<DeliveryObject>)
  }
  const everyOperation = (store: DurableObjectDeliveryStore) => [
    store.record(sendOf(), DAY),
    store.apply({ provider: 'aliyun', reference: 'r', status: 'sent', at: 1 }, DAY),
    store.apply({ provider: 'aliyun', vendorMessageId: 'v', status: 'sent', at: 1 }, DAY),
    store.get('r'),
    store.forNumber('n', 5),
    store.due(Date.now(), 5),
    store.reschedule('r', undefined),
  ]

  it('reads a reset object (retryable) as the state unavailable, in every operation', async () => {
    const store = failingWith(
      Object.assign(new Error('Durable Object reset because its code was updated.'), { retryable: true }),
    )
    for (const failure of await Promise.allSettled(everyOperation(store))) {
      expect(failure.status).toBe('rejected')
      expect(isStateUnavailableError((failure as PromiseRejectedResult).reason)).toBe(true)
    }
  })

  it('reads an overloaded object as a busy store, in every operation', async () => {
    const store = failingWith(Object.assign(new Error('Durable Object is overloaded.'), { overloaded: true }))
    for (const failure of await Promise.allSettled(everyOperation(store))) {
      expect(failure.status).toBe('rejected')
      const reason: unknown = (failure as PromiseRejectedResult).reason
      expect(isStoreError(reason) && reason.reason).toBe('busy')
    }
  })
})

describe('the Worker and its DELIVERIES binding', () => {
  it('needs the binding while SMS_HOOK_RECEIPTS is on (the default), and not with it off', async () => {
    const objects = { IDEMPOTENCY: env.IDEMPOTENCY, INBOX: env.INBOX, COUNTERS: env.COUNTERS }
    const without = await call(isolate(CONSOLE, objects), '/readyz')
    expect(without.status).toBe(503)
    expect(await without.json()).toMatchObject({ reason: expect.stringContaining('DELIVERIES') })
    const off = await call(isolate({ ...CONSOLE, SMS_HOOK_RECEIPTS: 'off' }, objects), '/readyz')
    expect(off.status).toBe(200)
    expect((await call(isolate(CONSOLE), '/readyz')).status).toBe(200)
  })
})
