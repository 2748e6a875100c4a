import { describe, expect, it } from 'vitest'
import { clip, maskPhone } from '../src/log.js'
import { makeApp, ScriptedProvider } from './support/app.js'
import { fresh } from './support/payloads.js'
import { SECRET, signedPost } from './support/sign.js'

describe('logs', () => {
  it('masks phone numbers', () => {
    expect(maskPhone('8613800138000')).toBe('86138****8000')
    expect(maskPhone('+14155550123')).toBe('141****0123')
    expect(maskPhone('1234567')).toBe('****67')
  })

  it('cuts what clients control to 64 characters, saying so with an ellipsis', () => {
    expect(clip(undefined)).toBeUndefined()
    expect(clip('a'.repeat(64))).toBe('a'.repeat(64))
    expect(clip('a'.repeat(65))).toBe(`${'a'.repeat(63)}…`)
    expect(clip('b'.repeat(10_000))).toHaveLength(64)
  })

  it('writes one JSON line per hook with key, masked phone, provider, outcome and duration, never the OTP', async () => {
    const { app, logs } = makeApp({ provider: new ScriptedProvider() })
    const { body, uuid } = fresh()
    await app.request('/send-sms', signedPost(body))
    const hookLines = logs.filter((l) => l.msg === 'hook')
    expect(hookLines).toHaveLength(1)
    expect(hookLines[0]).toMatchObject({
      level: 'info',
      key: uuid,
      phone: '86138****8000',
      provider: 'scripted',
      outcome: 'sent',
      status: 200,
      duration_ms: expect.any(Number),
    })
    const all = JSON.stringify(logs)
    expect(all).not.toContain('482913')
    expect(all).not.toContain('8613800138000')
    expect(all).not.toContain(SECRET.slice(9, 30))
  })
})
