import { describe, expect, it } from 'vitest'
import { isConfigError } from '../../src/errors.js'
import { parseGuardConfig, parseLimit } from '../../src/guard/config.js'

const errorOf = (env: Record<string, string>) => {
  try {
    parseGuardConfig(env)
  } catch (error) {
    if (isConfigError(error)) return error
    throw error
  }
  throw new Error('expected a configuration error')
}

describe('the guard settings', () => {
  it('defaults to 30 an address, 120 an IPv6 /48 and 10 a number an hour, no country or global limit, every country', () => {
    expect(parseGuardConfig({})).toEqual({
      allowedCountries: undefined,
      blockedPrefixes: [],
      limits: {
        per_ip: { max: 30, windowMs: 3_600_000 },
        per_network: { max: 120, windowMs: 3_600_000 },
        per_number: { max: 10, windowMs: 3_600_000 },
        per_country: undefined,
        global: undefined,
      },
    })
  })

  it('reads a count per window in seconds, minutes, hours or days, and off', () => {
    expect(parseLimit('5/30s', 'X')).toEqual({ max: 5, windowMs: 30_000 })
    expect(parseLimit('100/15m', 'X')).toEqual({ max: 100, windowMs: 900_000 })
    expect(parseLimit('5 / 1H', 'X')).toEqual({ max: 5, windowMs: 3_600_000 })
    expect(parseLimit('1000/1d', 'X')).toEqual({ max: 1000, windowMs: 86_400_000 })
    expect(parseLimit('off', 'X')).toBeUndefined()
    expect(parseLimit('OFF', 'X')).toBeUndefined()
    const config = parseGuardConfig({
      SMS_HOOK_LIMIT_PER_NUMBER: 'off',
      SMS_HOOK_LIMIT_PER_NETWORK: '50/10m',
      SMS_HOOK_LIMIT_PER_COUNTRY: '500/1h',
      SMS_HOOK_LIMIT_GLOBAL: '2000/1d',
    })
    expect(config.limits).toEqual({
      per_ip: { max: 30, windowMs: 3_600_000 },
      per_network: { max: 50, windowMs: 600_000 },
      per_number: undefined,
      per_country: { max: 500, windowMs: 3_600_000 },
      global: { max: 2000, windowMs: 86_400_000 },
    })
  })

  it('stops start-up on a limit that is no count per window, naming the variable', () => {
    for (const variable of [
      'SMS_HOOK_LIMIT_PER_IP',
      'SMS_HOOK_LIMIT_PER_NETWORK',
      'SMS_HOOK_LIMIT_PER_NUMBER',
      'SMS_HOOK_LIMIT_PER_COUNTRY',
      'SMS_HOOK_LIMIT_GLOBAL',
    ]) {
      for (const value of ['10', '10/h', '0/1h', '5/0s', '5/1w', '5/31d', '-1/1h', '5 per hour', '1.5/1h', 'none']) {
        const error = errorOf({ [variable]: value })
        expect(error.variable, `${variable}=${value}`).toBe(variable)
        expect(error.message).toContain(`"${value}"`)
      }
    }
  })

  it('turns the per-network limit off with off', () => {
    expect(parseGuardConfig({ SMS_HOOK_LIMIT_PER_NETWORK: 'off' }).limits.per_network).toBeUndefined()
  })

  it('reads allowed countries as calling codes, with or without +, and refuses one not in service', () => {
    expect(parseGuardConfig({ SMS_HOOK_ALLOWED_COUNTRIES: '86, 852,+853,1' }).allowedCountries).toEqual(
      new Set(['86', '852', '853', '1']),
    )
    for (const value of ['86,999', 'CN', '86;852', '0086']) {
      expect(errorOf({ SMS_HOOK_ALLOWED_COUNTRIES: value }).variable).toBe('SMS_HOOK_ALLOWED_COUNTRIES')
    }
  })

  it('reads blocked prefixes as E.164 digits, and refuses anything else', () => {
    expect(parseGuardConfig({ SMS_HOOK_BLOCKED_PREFIXES: '1876, +44870' }).blockedPrefixes).toEqual(['1876', '44870'])
    for (const value of ['1876,abc', '0044', '1-876', '1234567890123456']) {
      expect(errorOf({ SMS_HOOK_BLOCKED_PREFIXES: value }).variable).toBe('SMS_HOOK_BLOCKED_PREFIXES')
    }
  })
})
