import { describe, expect, it } from 'vitest'
import { MemoryRateCounters } from '../../src/store/memory-counters.js'
import { describeCountersContract } from './counters-contract.js'

const manualClock = (start = Date.now()) => {
  let now = start
  return { now: () => now, advance: (ms: number) => void (now += ms) }
}

describeCountersContract('MemoryRateCounters', () => {
  const clock = manualClock()
  return { counters: new MemoryRateCounters({ clock }), now: clock.now, advance: clock.advance }
})

describe('MemoryRateCounters', () => {
  it('forgets ended windows without being asked about them, so memory follows the windows', async () => {
    const clock = manualClock(0)
    const counters = new MemoryRateCounters({ clock })
    for (let i = 0; i < 20; i++) await counters.hit(`k${i}`, 1000)
    clock.advance(1000)
    await counters.hit('next', 1000)
    expect(counters.size).toBe(1)
  })

  it('past its cap forgets the oldest window first, and keeps counting the others', async () => {
    const clock = manualClock(0)
    const counters = new MemoryRateCounters({ clock, maxKeys: 3 })
    await counters.hit('oldest', 60_000)
    await counters.hit('b', 60_000)
    await counters.hit('c', 60_000)
    await counters.hit('d', 60_000)
    expect(counters.size).toBe(3)
    expect(await counters.hit('c', 60_000)).toBe(2)
    expect(await counters.hit('oldest', 60_000)).toBe(1)
  })

  it('at the cap holds no more counters however many keys come', async () => {
    const clock = manualClock(0)
    const counters = new MemoryRateCounters({ clock, maxKeys: 10 })
    for (let i = 0; i < 5000; i++) await counters.hit(`k${i}`, 60_000)
    expect(counters.size).toBe(10)
    expect(await counters.hit('k4999', 60_000)).toBe(2)
  })

  it('refuses a cap that is not a positive integer', () => {
    expect(() => new MemoryRateCounters({ clock: manualClock(), maxKeys: 0 })).toThrow('maxKeys')
  })
})
