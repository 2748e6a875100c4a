/**
 * Talks to the fake Alibaba Cloud endpoint (test/fakes/aliyun-server.ts) over HTTP only, as tests in any
 * runtime can: script its next answers for a key (OutId or phone number) and read the calls it received.
 */
import { expect, inject } from 'vitest'
import type { Env } from '../../../src/config/index.js'
import { FAKE_ALIYUN } from '../../fakes/aliyun-accounts.js'
import type { FakeAnswer, FakeCall } from '../../fakes/aliyun-server.js'

export type { FakeAnswer, FakeCall }

export const fakeUrl = (): string => inject('aliyunUrl')

/** The next valid calls for `key` get `answers` in order; after them the fake answers `OK` again. */
export const script = async (key: string, ...answers: FakeAnswer[]): Promise<void> => {
  const response = await fetch(`${fakeUrl()}/__script`, { method: 'POST', body: JSON.stringify({ key, answers }) })
  expect(response.status).toBe(204)
}

/** Every call the fake received whose OutId or phone number is `key`. */
export const callsFor = async (key: string): Promise<FakeCall[]> => {
  const response = await fetch(`${fakeUrl()}/__calls?key=${encodeURIComponent(key)}`)
  return (await response.json()) as FakeCall[]
}

/** The settings of a working SendSms account on the fake endpoint, with `overrides` on top. */
export const aliyunEnv = (overrides: Env = {}): Env => ({
  GOTRUE_SMS_PROVIDER: 'aliyun',
  GOTRUE_SMS_ALIYUN_ACCESS_KEY_ID: FAKE_ALIYUN.accessKeyId,
  GOTRUE_SMS_ALIYUN_ACCESS_KEY_SECRET: FAKE_ALIYUN.accessKeySecret,
  GOTRUE_SMS_ALIYUN_SIGN_NAME: '阿里云短信测试',
  GOTRUE_SMS_ALIYUN_TEMPLATE_CODE: 'SMS_154950909',
  GOTRUE_SMS_ALIYUN_ENDPOINT: fakeUrl(),
  ...overrides,
})

/** A mainland mobile (E.164 digits, no `+`) no other test uses, so scripts and calls keyed by it stay apart. */
export const uniqueMainlandPhone = (): string => `86139${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`

/** The carrier's receipt for a send the fake accepted (`key`: its OutId or BizId), as QuerySendDetails lists it. */
export const report = async (key: string, status: 'delivered' | 'failed', errCode?: string): Promise<void> => {
  const response = await fetch(`${fakeUrl()}/__report`, {
    method: 'POST',
    body: JSON.stringify({ key, status, ...(errCode === undefined ? {} : { errCode }) }),
  })
  expect(response.status).toBe(204)
}
