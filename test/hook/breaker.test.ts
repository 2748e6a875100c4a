import { describe, expect, it, vi } from 'vitest'
import { ProviderError, type ProviderErrorKind } from '../../src/errors.js'
import { CircuitBreaker, type BreakerTransition } from '../../src/hook/breaker.js'
import type { HookEvent, HookObserver } from '../../src/hook/events.js'
import { makeApp, ScriptedProvider } from '../support/app.js'
import { uniqueMainlandPhone } from '../providers/aliyun/fake.js'
import { signupPayload } from '../support/payloads.js'
import { manualClock } from '../support/clock.js'
import { vendorEnv } from '../support/routing.js'
import { signedPost } from '../support/sign.js'

const COOLDOWN_MS = 30_000

/**
 * A provider whose next calls succeed, fail with a kind, fail with a code its table does not know
 * (`unrecognised`), or wait for a gate, as the test sets it.
 */
const controlled = (name: string) => {
  let behaviour: 'up' | 'unrecognised' | ProviderErrorKind | Promise<void> = 'up'
  const provider = new ScriptedProvider(async (message) => {
    const now = behaviour
    if (now instanceof Promise) await now
    else if (now === 'unrecognised') {
      throw new ProviderError('recipient_invalid', 'scripted unknown code', {
        providerCode: `${name}-new`,
        unrecognised: true,
      })
    } else if (now !== 'up') throw new ProviderError(now, `scripted ${now}`, { providerCode: `${name}-${now}` })
    return { messageId: `${name}-${message.reference}` }
  }, name)
  return Object.assign(provider, {
    set: (next: typeof behaviour) => void (behaviour = next),
  })
}

const gate = () => {
  let open!: () => void
  const promise = new Promise<void>((resolve) => (open = resolve))
  return { promise, open }
}

/** `*=twilio,vonage` (or `routes`) with a breaker threshold of 2, a manual clock, and both providers up. */
const setup = (options: { routes?: string; threshold?: number; observers?: HookObserver[] } = {}) => {
  const clock = manualClock()
  const twilio = controlled('twilio')
  const vonage = controlled('vonage')
  const made = makeApp({
    clock,
    env: {
      ...vendorEnv(),
      SMS_HOOK_ROUTES: options.routes ?? '*=twilio,vonage',
      SMS_HOOK_BREAKER_THRESHOLD: String(options.threshold ?? 2),
      SMS_HOOK_BREAKER_COOLDOWN: `${COOLDOWN_MS / 1000}s`,
    },
    providers: { twilio, vonage },
    observers: options.observers ?? [],
  })
  // A number of its own per call: a second call for one number within the resend window would be a resend, which
  // tries the route's other provider first (docs/receipts.md), and these cases are about the breaker alone.
  const hook = () =>
    made.app.request('/send-sms', signedPost(signupPayload({ phone: uniqueMainlandPhone(), time: clock.now() }).body))
  /** The provider that answered the last hook, and the ones it skipped. */
  const lastCall = () => {
    const event = made.events.findLast((e) => e.type === 'delivered' || e.type === 'failed')
    if (event?.type !== 'delivered' && event?.type !== 'failed') throw new Error('no hook yet')
    return { provider: event.provider, skipped: event.skipped }
  }
  const transitions = () =>
    made.events
      .filter((e): e is Extract<HookEvent, { type: 'breaker' }> => e.type === 'breaker')
      .map((e) => `${e.provider} ${e.state}`)
  return { ...made, clock, twilio, vonage, hook, lastCall, transitions }
}

describe('a circuit breaker per provider', () => {
  it('opens after SMS_HOOK_BREAKER_THRESHOLD failed hooks in a row, then skips the provider until the cooldown ends', async () => {
    const { twilio, hook, lastCall, transitions, logs, clock } = setup()
    twilio.set('retryable')
    await hook()
    expect(transitions()).toEqual([])
    await hook()
    expect(transitions()).toEqual(['twilio opened'])
    expect(logs.find((l) => l.msg.includes('skipped until its breaker cools down'))).toMatchObject({
      level: 'warn',
      provider: 'twilio',
    })
    expect(twilio.calls).toHaveLength(2)

    twilio.set('up')
    expect((await hook()).status).toBe(200)
    expect(twilio.calls).toHaveLength(2)
    expect(lastCall()).toEqual({ provider: 'vonage', skipped: ['twilio'] })
    expect(logs.findLast((l) => l.msg === 'hook')).toMatchObject({
      provider: 'vonage',
      attempts: 1,
      skipped: ['twilio'],
    })

    clock.advance(COOLDOWN_MS - 1)
    await hook()
    expect(twilio.calls).toHaveLength(2)
  })

  it('counts a hook once however many attempts it made, and retryable, configuration and unknown outcomes alike', async () => {
    const alone = setup({ routes: '*=twilio' })
    alone.twilio.set('retryable')
    await alone.hook()
    expect(alone.twilio.calls).toHaveLength(3)
    expect(alone.transitions()).toEqual([])
    await alone.hook()
    expect(alone.transitions()).toEqual(['twilio opened'])

    const kinds = setup({ threshold: 3 })
    for (const kind of ['configuration', 'outcome_unknown', 'retryable'] as const) {
      expect(kinds.transitions()).toEqual([])
      kinds.twilio.set(kind)
      await kinds.hook()
    }
    expect(kinds.transitions()).toEqual(['twilio opened'])
  })

  it('starts counting again after an answer about the recipient: the vendor is up', async () => {
    const { twilio, vonage, hook, transitions } = setup()
    twilio.set('retryable')
    await hook()
    twilio.set('recipient_invalid')
    expect(((await (await hook()).json()) as { error: { http_code: number } }).error.http_code).toBe(400)
    expect(vonage.calls).toHaveLength(1)
    twilio.set('retryable')
    await hook()
    expect(transitions()).toEqual([])
    await hook()
    expect(twilio.calls).toHaveLength(4)
    expect(transitions()).toEqual(['twilio opened'])
  })

  it('neither counts nor starts the count again after a code the vendor table does not know: it says nothing of the vendor', async () => {
    const { twilio, vonage, hook, transitions } = setup()
    twilio.set('retryable')
    await hook()
    expect(vonage.calls).toHaveLength(1)
    twilio.set('unrecognised')
    expect(((await (await hook()).json()) as { error: { http_code: number } }).error.http_code).toBe(400)
    expect(vonage.calls).toHaveLength(1)
    expect(transitions()).toEqual([])
    twilio.set('retryable')
    await hook()
    expect(transitions()).toEqual(['twilio opened'])
  })

  it('keeps a half-open breaker waiting for a real answer when the probe draws an unknown code', async () => {
    const { twilio, hook, lastCall, transitions, clock } = setup()
    twilio.set('retryable')
    await hook()
    await hook()
    clock.advance(COOLDOWN_MS)
    twilio.set('unrecognised')
    await hook()
    expect(transitions()).toEqual(['twilio opened', 'twilio half_open'])
    // The next hook may probe at once.
    twilio.set('up')
    await hook()
    expect(lastCall()).toEqual({ provider: 'twilio', skipped: [] })
    expect(transitions()).toEqual(['twilio opened', 'twilio half_open', 'twilio closed'])
  })

  it('lets one hook probe after the cooldown, and closes when the probe succeeds', async () => {
    const { twilio, hook, lastCall, transitions, clock } = setup()
    twilio.set('retryable')
    await hook()
    await hook()
    twilio.set('up')
    clock.advance(COOLDOWN_MS)
    expect((await hook()).status).toBe(200)
    expect(lastCall()).toEqual({ provider: 'twilio', skipped: [] })
    expect(transitions()).toEqual(['twilio opened', 'twilio half_open', 'twilio closed'])
    await hook()
    expect(lastCall().provider).toBe('twilio')
  })

  it('lets only one probe through at a time: other hooks still skip the provider meanwhile', async () => {
    const { twilio, vonage, hook, lastCall, transitions, clock } = setup()
    twilio.set('retryable')
    await hook()
    await hook()
    clock.advance(COOLDOWN_MS)
    const slow = gate()
    twilio.set(slow.promise)
    const probe = hook()
    await vi.waitFor(() => expect(twilio.calls).toHaveLength(3))

    const vonageBefore = vonage.calls.length
    expect((await hook()).status).toBe(200)
    expect(lastCall()).toEqual({ provider: 'vonage', skipped: ['twilio'] })
    expect(twilio.calls).toHaveLength(3)
    expect(vonage.calls).toHaveLength(vonageBefore + 1)

    slow.open()
    expect((await probe).status).toBe(200)
    expect(transitions()).toEqual(['twilio opened', 'twilio half_open', 'twilio closed'])
  })

  it('opens again for another cooldown when the probe fails', async () => {
    const { twilio, hook, transitions, clock } = setup()
    twilio.set('retryable')
    await hook()
    await hook()
    clock.advance(COOLDOWN_MS)
    expect((await hook()).status).toBe(200)
    expect(twilio.calls).toHaveLength(3)
    expect(transitions()).toEqual(['twilio opened', 'twilio half_open', 'twilio opened'])

    clock.advance(COOLDOWN_MS - 1)
    await hook()
    expect(twilio.calls).toHaveLength(3)
    clock.advance(1)
    await hook()
    expect(twilio.calls).toHaveLength(4)
  })

  it('takes the probe back even when the hook fails in an unexpected way', async () => {
    let broken = false
    const { twilio, hook, transitions, clock } = setup({
      observers: [
        (event) => {
          if (broken && event.type === 'attempt_failed') throw new Error('observer bug')
        },
      ],
    })
    twilio.set('retryable')
    await hook()
    await hook()
    clock.advance(COOLDOWN_MS)
    broken = true
    expect(await (await hook()).json()).toHaveProperty('error')
    broken = false
    expect(transitions()).toEqual(['twilio opened', 'twilio half_open', 'twilio opened'])
    clock.advance(COOLDOWN_MS)
    twilio.set('up')
    await hook()
    expect(twilio.calls).toHaveLength(4)
    expect(transitions().at(-1)).toBe('twilio closed')
  })

  it('tries the last provider anyway when every provider of the route is open', async () => {
    const { twilio, vonage, hook, lastCall, transitions } = setup({ threshold: 1 })
    twilio.set('retryable')
    vonage.set('configuration')
    await hook()
    expect(transitions()).toEqual(['twilio opened', 'vonage opened'])

    const response = await hook()
    expect(((await response.json()) as { error: { http_code: number } }).error.http_code).toBe(500)
    expect([twilio.calls.length, vonage.calls.length]).toEqual([1, 2])
    expect(lastCall()).toEqual({ provider: 'vonage', skipped: ['twilio'] })
    // A forced try that fails leaves the breaker as it was; one that succeeds closes it.
    expect(transitions()).toEqual(['twilio opened', 'vonage opened'])
    vonage.set('up')
    expect((await hook()).status).toBe(200)
    expect(transitions()).toEqual(['twilio opened', 'vonage opened', 'vonage closed'])
  })

  it('keeps one breaker per provider: a provider open on one route is skipped on every route', async () => {
    const { twilio, vonage, app, hook, lastCall } = setup({ routes: '44=vonage,twilio;*=twilio,vonage' })
    twilio.set('retryable')
    await hook()
    await hook()
    const before = twilio.calls.length
    await app.request('/send-sms', signedPost(signupPayload({ phone: '447700900123' }).body))
    vonage.set('retryable')
    const vonageBefore = vonage.calls.length
    await app.request('/send-sms', signedPost(signupPayload({ phone: '447700900124' }).body))
    // Twilio, open, is no provider left to fail over to: vonage retried itself, and twilio was not tried after it.
    expect(vonage.calls.length - vonageBefore).toBe(3)
    expect(twilio.calls).toHaveLength(before)
    expect(lastCall()).toEqual({ provider: 'vonage', skipped: ['twilio'] })
  })
})

describe('CircuitBreaker', () => {
  const breaker = (threshold = 1) => {
    const clock = manualClock()
    const transitions: BreakerTransition[] = []
    const b = new CircuitBreaker('twilio', { threshold, cooldownMs: 1000 }, clock, (t) => transitions.push(t))
    return { b, clock, transitions }
  }

  it('opens after `threshold` failures, skips until the cooldown ends, then lets one probe through', () => {
    const { b, clock, transitions } = breaker(2)
    b.record(b.enter()!, 'down')
    expect(b.enter()).toBe('pass')
    b.record('pass', 'down')
    expect(transitions).toEqual(['opened'])
    expect(b.enter()).toBeUndefined()
    clock.advance(999)
    expect(b.enter()).toBeUndefined()
    clock.advance(1)
    expect(b.enter()).toBe('probe')
    expect(b.enter()).toBeUndefined()
    b.record('probe', 'down')
    expect(transitions).toEqual(['opened', 'half_open', 'opened'])
    clock.advance(1000)
    b.record(b.enter()!, 'up')
    expect(transitions).toEqual(['opened', 'half_open', 'opened', 'half_open', 'closed'])
    expect(b.enter()).toBe('pass')
  })

  it('ignores a failure reported by a hook that started before another opened the breaker', () => {
    const { b, transitions } = breaker()
    const early = b.enter()
    const late = b.enter()
    b.record(early!, 'down')
    b.record(late!, 'down')
    expect(transitions).toEqual(['opened'])
    expect(b.available).toBe(false)
  })

  it("closes on any answer from the vendor, even while a probe is out, and ignores that probe's failure after", () => {
    const { b, clock, transitions } = breaker()
    const stale = b.enter()
    b.record(b.enter()!, 'down')
    clock.advance(1000)
    expect(b.available).toBe(true)
    const probe = b.enter()
    expect(probe).toBe('probe')
    expect(b.available).toBe(false)
    b.record(stale!, 'up')
    b.record(probe!, 'down')
    expect(transitions).toEqual(['opened', 'half_open', 'closed'])
    expect(b.enter()).toBe('pass')
  })
})
