/**
 * Talks to the fake vendor endpoints (test/fakes/<vendor>-server.ts) over HTTP only, as tests in any runtime
 * can: script the next answers for a recipient and read the calls received for it.
 */
import { expect, inject } from 'vitest'
import type { FakeCall, ScriptedAnswer } from '../fakes/vendor-fake.js'
import type { FakeVendorName } from '../global-setup.js'

export type { FakeCall, FakeVendorName, ScriptedAnswer }

export const fakeUrl = (vendor: FakeVendorName): string => inject('vendorUrls')[vendor]

/** The next calls for `key` (recipient digits) that the vendor accepts get `answers` in order, then success. */
export const script = async (vendor: FakeVendorName, key: string, ...answers: ScriptedAnswer[]): Promise<void> => {
  const response = await fetch(`${fakeUrl(vendor)}/__script`, {
    method: 'POST',
    body: JSON.stringify({ key, answers }),
  })
  expect(response.status).toBe(204)
}

/** Every call the fake received for recipient `key`, accepted or not. */
export const callsFor = async (vendor: FakeVendorName, key: string): Promise<FakeCall[]> => {
  const response = await fetch(`${fakeUrl(vendor)}/__calls?key=${encodeURIComponent(key)}`)
  return (await response.json()) as FakeCall[]
}
