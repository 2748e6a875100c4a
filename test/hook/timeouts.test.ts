import { describe, expect, it } from 'vitest'
import { sharedTimeouts, timerPerCall, type Timeouts } from '../../src/hook/timeouts.js'

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe.each([
  ['one timer shared by every call (Node)', sharedTimeouts],
  ['a timer per call', timerPerCall],
] as [string, Timeouts][])('provider deadlines: %s', (_name, afterMs) => {
  it('runs each callback once its time has come, earliest first, whatever order they were asked in', async () => {
    const fired: string[] = []
    afterMs(60, () => fired.push('c'))
    afterMs(20, () => fired.push('a'))
    afterMs(40, () => fired.push('b'))
    await settle(120)
    expect(fired).toEqual(['a', 'b', 'c'])
  })

  it('never runs a cancelled one, even when many before a live one were cancelled', async () => {
    const fired: number[] = []
    const cancelled = Array.from({ length: 2000 }, (_, i) => afterMs(5, () => fired.push(i)))
    afterMs(30, () => fired.push(-1))
    for (const timeout of cancelled) timeout.cancel()
    await settle(80)
    expect(fired).toEqual([-1])
  })

  it('does not run a callback early', async () => {
    let fired = false
    afterMs(200, () => (fired = true))
    await settle(50)
    expect(fired).toBe(false)
    await settle(250)
    expect(fired).toBe(true)
  })
})
