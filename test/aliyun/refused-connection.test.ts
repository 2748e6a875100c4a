/**
 * Node only: Node says ECONNREFUSED when nothing listens, so the hook knows that nothing was sent and may try
 * again. workerd reports the same thing as a lost connection, which may also mean a reset after sending; the
 * Worker's reading of it is in test/workerd/worker.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { systemClock } from '../../src/clock.js'
import { MemoryInbox } from '../../src/dev/inbox.js'
import { isProviderError } from '../../src/errors.js'
import { silentLogger } from '../../src/log.js'
import { createSdkTransport } from '../../src/providers/aliyun/sdk-transport.js'
import { createProvider, parseProviderConfig } from '../../src/providers/index.js'
import { aliyunEnv, uniqueMainlandPhone } from './fake.js'

for (const [transport, sdk] of [
  ['fetch', undefined],
  ['sdk', createSdkTransport],
] as const) {
  describe(`aliyun provider over the ${transport} transport`, () => {
    it('reads a refused connection as retryable: nothing was sent', async () => {
      // Port 2: nothing listens there, and unlike port 1 fetch does not block it as a "bad port".
      const env = aliyunEnv({ GOTRUE_SMS_ALIYUN_TRANSPORT: transport, GOTRUE_SMS_ALIYUN_ENDPOINT: 'http://127.0.0.1:2' })
      const provider = createProvider(parseProviderConfig(env, 'production'), {
        clock: systemClock,
        fetch: globalThis.fetch,
        logger: silentLogger,
        inbox: new MemoryInbox(),
        aliyunSdkTransport: sdk,
      })
      const message = { to: uniqueMainlandPhone(), otp: '482913', text: '', smsType: 'sms', reference: crypto.randomUUID() }
      const error = await provider
        .send(message, { signal: AbortSignal.timeout(3000), deadline: Date.now() + 3000 })
        .then(() => undefined, (e: unknown) => e)
      expect(isProviderError(error) && error.kind).toBe('retryable')
    })
  })
}
