import fc from 'fast-check'
import * as original from 'fast-sha256'
import { describe, expect, it } from 'vitest'
import { hmac } from '../../src/worker/sha256.js'
import { decode, encode } from '../../src/worker/base64.js'
import * as stablelib from '@stablelib/base64'

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
const bytes = (text: string) => new TextEncoder().encode(text)

// The Worker's replacements for the Standard Webhooks library's primitives (wrangler.toml [alias]).
describe('the Worker HMAC-SHA-256', () => {
  it('gives RFC 4231 test cases 2 and 6 (a short key, a key longer than a block)', () => {
    expect(hex(hmac(bytes('Jefe'), bytes('what do ya want for nothing?')))).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    )
    const key = new Uint8Array(131).fill(0xaa)
    expect(hex(hmac(key, bytes('Test Using Larger Than Block-Size Key - Hash Key First')))).toBe(
      '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
    )
  })

  it('equals fast-sha256 on any key and message, across block boundaries', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 300 }), (key, message) => {
        expect(hex(hmac(key, message))).toBe(hex(original.hmac(key, message)))
      }),
      { numRuns: 500 },
    )
    for (let n = 50; n < 140; n++) {
      const message = new Uint8Array(n).map((_, i) => (i * 7) & 0xff)
      expect(hex(hmac(bytes('k'), message))).toBe(hex(original.hmac(bytes('k'), message)))
    }
  })
})

describe('the Worker base64', () => {
  it('equals @stablelib/base64 both ways', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (data) => {
        const text = encode(data)
        expect(text).toBe(stablelib.encode(data))
        expect(decode(text)).toEqual(stablelib.decode(text))
      }),
      { numRuns: 300 },
    )
  })

  it('refuses what is not standard padded base64, as the original does', () => {
    for (const text of ['abc', 'ab$=', 'a-_b', 'ab==cd==']) {
      expect(() => decode(text), text).toThrow()
      expect(() => stablelib.decode(text), text).toThrow()
    }
  })
})
