// The benchmark's arithmetic: what its table is computed with. No timing is asserted here; targets are judged
// only by `npm run bench -- --check`.
import { describe, expect, it } from 'vitest'
import {
  answerStatus,
  dueAt,
  dueBy,
  meets,
  pairwise,
  percentile,
  showSpread,
  sortedCopy,
  spread,
} from '../../bench/stats.js'

describe('bench stats', () => {
  it('takes percentiles by nearest rank', () => {
    const xs = sortedCopy([5, 1, 4, 2, 3, 6, 7, 8, 9, 10])
    expect(percentile(xs, 50)).toBe(5)
    expect(percentile(xs, 90)).toBe(9)
    expect(percentile(xs, 99)).toBe(10)
    expect(percentile(xs, 100)).toBe(10)
    expect(percentile(xs, 0)).toBe(1)
    expect(percentile(sortedCopy([]), 50)).toBeNaN()
  })

  it('sorts numerically, not as text', () => {
    expect([...sortedCopy([10, 9, 100])]).toEqual([9, 10, 100])
  })

  it('gives the median and range over rounds, leaving out rounds that measured nothing', () => {
    expect(spread([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, n: 3 })
    expect(spread([4, 1, 3, 2])).toEqual({ median: 2.5, min: 1, max: 4, n: 4 })
    expect(spread([1, Number.NaN]).n).toBe(1)
    expect(spread([]).median).toBeNaN()
  })

  it('pairs rounds by index', () => {
    expect(pairwise([2, 4, 6], [1, 2], (a, b) => a / b)).toEqual([2, 2])
  })

  it('shows a spread as median (min–max)', () => {
    expect(showSpread(spread([0.5, 0.61, 0.7]), 2)).toBe('0.61 (0.50–0.70)')
    expect(showSpread(spread([1234.5]), 0, ' µs')).toBe('1,235 µs')
    expect(showSpread(spread([]), 1)).toBe('n/a')
  })

  it('judges against a target, never passing what could not be measured', () => {
    expect(meets(0.65, '>=', 0.65)).toBe(true)
    expect(meets(0.2, '<=', 0.2)).toBe(true)
    expect(meets(5, '<', 5)).toBe(false)
    expect(meets(Number.NaN, '<=', 1)).toBe(false)
  })

  it('schedules the open loop at fixed intervals from its start', () => {
    expect(dueAt(100, 2000, 0)).toBe(100)
    expect(dueAt(100, 2000, 4)).toBe(102)
    expect(dueBy(2000, 0, 10)).toBe(1)
    expect(dueBy(2000, 1.9, 10)).toBe(4)
    expect(dueBy(2000, 1000, 10)).toBe(10)
  })

  it('reads answers as GoTrue does: an error object in a 200 counts as its http_code', () => {
    expect(answerStatus(200, '{}')).toBe(200)
    expect(answerStatus(200, '{"error":{"http_code":504,"message":"x"}}')).toBe(504)
    expect(answerStatus(503, '{"error":{"http_code":503,"message":"x"}}')).toBe(503)
    expect(answerStatus(200, 'not json')).toBe(200)
  })
})
