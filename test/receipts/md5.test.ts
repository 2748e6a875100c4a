import { createHash, createHmac, randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { hmacMd5, md5 } from '../../src/receipts/md5.js'

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')
const text = (value: string) => new TextEncoder().encode(value)

describe('MD5', () => {
  it('gives the RFC 1321 test suite', () => {
    const suite: [string, string][] = [
      ['', 'd41d8cd98f00b204e9800998ecf8427e'],
      ['a', '0cc175b9c0f1b6a831c399e269772661'],
      ['abc', '900150983cd24fb0d6963f7d28e17f72'],
      ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
      ['abcdefghijklmnopqrstuvwxyz', 'c3fcd3d76192e4007dfb496cca67e13b'],
      ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 'd174ab98d277d9f5a5611c2c9f419d9f'],
      [
        '12345678901234567890123456789012345678901234567890123456789012345678901234567890',
        '57edf4a22be3c955ac49da2e2107b67a',
      ],
    ]
    for (const [input, digest] of suite) expect(hex(md5(text(input)))).toBe(digest)
  })

  it("agrees with node:crypto at every length around the padding's block edges", () => {
    for (let length = 0; length <= 200; length++) {
      const data = randomBytes(length)
      expect(hex(md5(data)), `length ${length}`).toBe(createHash('md5').update(data).digest('hex'))
    }
  })

  it('agrees with node:crypto on random inputs', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), (data) => {
        expect(hex(md5(data))).toBe(createHash('md5').update(data).digest('hex'))
      }),
      { numRuns: 300 },
    )
  })
})

describe('HMAC-MD5', () => {
  it('gives the RFC 2104 examples', async () => {
    expect(hex(await hmacMd5(new Uint8Array(16).fill(0x0b), text('Hi There')))).toBe('9294727a3638bb1c13f48ef8158bfc9d')
    expect(hex(await hmacMd5(text('Jefe'), text('what do ya want for nothing?')))).toBe(
      '750c783e6ab0b503eaa86e310a5db738',
    )
  })

  it('agrees with node:crypto on random keys (shorter and longer than a block) and messages', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 2000 }), async (key, data) => {
        expect(hex(await hmacMd5(key, data))).toBe(createHmac('md5', key).update(data).digest('hex'))
      }),
      { numRuns: 300 },
    )
  })
})

// The Worker's MD5 (`#md5` under the workerd condition) is the runtime's digest with HMAC built on it: held to
// the same vectors and to node:crypto, on workerd only (Node's WebCrypto has no MD5).
describe.runIf(globalThis.navigator?.userAgent === 'Cloudflare-Workers')('MD5 and HMAC-MD5 of the Worker', () => {
  const worker = () => import('../../src/worker/md5.js')

  it('gives the RFC 1321 and RFC 2104 vectors', async () => {
    const { hmacMd5Digest, md5Digest } = await worker()
    expect(hex(await md5Digest(text('message digest')))).toBe('f96b697d7cb7938d525a2f31aaf161d0')
    expect(hex(await md5Digest(text('')))).toBe('d41d8cd98f00b204e9800998ecf8427e')
    expect(hex(await hmacMd5Digest(new Uint8Array(16).fill(0x0b), text('Hi There')))).toBe(
      '9294727a3638bb1c13f48ef8158bfc9d',
    )
    expect(hex(await hmacMd5Digest(text('Jefe'), text('what do ya want for nothing?')))).toBe(
      '750c783e6ab0b503eaa86e310a5db738',
    )
  })

  it('agrees with node:crypto on random keys (shorter and longer than a block) and messages', async () => {
    const { hmacMd5Digest, md5Digest } = await worker()
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 2000 }), async (key, data) => {
        expect(hex(await md5Digest(data))).toBe(createHash('md5').update(data).digest('hex'))
        expect(hex(await hmacMd5Digest(key, data))).toBe(createHmac('md5', key).update(data).digest('hex'))
      }),
      { numRuns: 200 },
    )
  })

  it('is what `#md5` is on workerd', async () => {
    const resolved = await import('#md5')
    expect(resolved.md5Digest).toBe((await worker()).md5Digest)
  })
})
