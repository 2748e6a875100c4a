/**
 * Standard base64 (with padding) for the `standardwebhooks` library on Workers, in place of `@stablelib/base64`
 * (wrangler.toml `[alias]`): the library uses only `encode` and `decode`, which the runtime's own `btoa` and
 * `atob` do, while `@stablelib/base64`'s CommonJS build ships its URL-safe codec too, 3.5 KB of the bundle.
 * Node keeps the original. test/worker/base64.test.ts holds the two to the same output.
 */
export { base64 as encode } from '../digest.js'

/** Throws on anything that is not base64, as the original does: a signing key must never decode to garbage. */
export const decode = (text: string): Uint8Array => {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw new Error('base64: invalid string')
  return Uint8Array.from(atob(text), (char) => char.charCodeAt(0))
}
