import { describe, expect, it } from 'vitest'
import { CircuitBreaker, type BreakerTransition } from '../../src/hook/breaker.js'
import { manualClock } from '../support/clock.js'

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

  it('closes on any answer from the vendor, even while a probe is out, and ignores that probe\'s failure after', () => {
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
