import { describe, expect, it } from 'vitest'
import { createNumberKey, createNumberSeal } from '../../src/delivery/number-key.js'

const NUMBER = '8613912345678'

/** base64url, decoded independently of the code under test. */
const bytesOf = (sealed: string) => {
  const binary = atob(sealed.replace(/-/g, '+').replace(/_/g, '/'))
  return Uint8Array.from(binary, (c) => c.charCodeAt(0))
}
const textOf = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')

describe('createNumberSeal', () => {
  const seal = createNumberSeal('an admin token of enough length')

  it('opens what it sealed, and what another replica with the same material sealed', async () => {
    const sealed = await seal.seal(NUMBER)
    expect(await seal.open(sealed)).toBe(NUMBER)
    expect(await createNumberSeal('an admin token of enough length').open(sealed)).toBe(NUMBER)
  })

  it('gives base64url of a 12-byte IV, the ciphertext and a 16-byte tag, a new IV each time', async () => {
    const a = await seal.seal(NUMBER)
    const b = await seal.seal(NUMBER)
    expect(a).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(a).not.toBe(b)
    expect(bytesOf(a)).toHaveLength(12 + NUMBER.length + 16)
    expect(bytesOf(a).slice(0, 12)).not.toEqual(bytesOf(b).slice(0, 12))
    for (const sealed of [a, b]) {
      expect(sealed).not.toContain(NUMBER.slice(-8))
      expect(String.fromCharCode(...bytesOf(sealed))).not.toContain(NUMBER.slice(-8))
    }
  })

  it.each([
    ['the IV', 0],
    ['the ciphertext', 12],
    ['the tag', 12 + NUMBER.length + 15],
  ])('refuses a sealed number with a bit of %s flipped', async (_what, at) => {
    const bytes = bytesOf(await seal.seal(NUMBER))
    bytes[at]! ^= 0x01
    await expect(seal.open(textOf(bytes))).rejects.toThrow(/does not open/)
  })

  it('refuses one cut short, one with bytes added, and what is not base64url', async () => {
    const sealed = await seal.seal(NUMBER)
    await expect(seal.open(sealed.slice(0, -4))).rejects.toThrow()
    await expect(seal.open(`${sealed}AAAA`)).rejects.toThrow()
    for (const bad of ['', 'not base64!', '+/+/', sealed.slice(0, 10)]) await expect(seal.open(bad)).rejects.toThrow()
  })

  it('refuses what another deployment sealed (other material)', async () => {
    const other = await createNumberSeal('another admin token, another key').seal(NUMBER)
    await expect(seal.open(other)).rejects.toThrow(/does not open/)
  })

  it('seals E.164 digits only', async () => {
    for (const bad of ['+8613912345678', '013912345678', '86139 1234 5678', '']) {
      await expect(seal.seal(bad)).rejects.toThrow(/E\.164/)
    }
  })

  it('derives a key of its own: the number key of the same material is no part of the seal', async () => {
    const hash = await createNumberKey('an admin token of enough length')(NUMBER)
    const sealed = await seal.seal(NUMBER)
    expect(sealed).not.toContain(hash)
    expect(await seal.open(sealed)).toBe(NUMBER)
  })
})
