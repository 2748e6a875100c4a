/**
 * Node only: Node says ECONNREFUSED when nothing listens, so the hook knows that nothing was sent and may try
 * again. workerd reports the same thing as a lost connection, which may also mean a reset after sending; the
 * Worker's reading of it is in test/worker/worker.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { systemClock } from '../../../src/clock.js'
import { MemoryInbox } from '../../../src/dev/inbox.js'
import { isProviderError } from '../../../src/errors.js'
import { silentLogger } from '../../../src/log.js'
import { createSdkTransport } from '../../../src/providers/aliyun/sdk-transport.js'
import { aliyunWith } from '../../../src/providers/aliyun/index.js'
import { smsMessage } from '../../support/payloads.js'
import { aliyunEnv, uniqueMainlandPhone } from './fake.js'

for (const [transport, sdk] of [
  ['fetch', undefined],
  ['sdk', createSdkTransport],
] as const) {
  describe(`aliyun provider over the ${transport} transport`, () => {
    it('reads a refused connection as retryable: nothing was sent', async () => {
      // Port 2: nothing listens there, and unlike port 1 fetch does not block it as a "bad port".
      const env = aliyunEnv({
        GOTRUE_SMS_ALIYUN_TRANSPORT: transport,
        GOTRUE_SMS_ALIYUN_ENDPOINT: 'http://127.0.0.1:2',
      })
      const definition = aliyunWith(sdk)
      const provider = definition.create(definition.parse(env), {
        clock: systemClock,
        fetch: globalThis.fetch,
        logger: silentLogger,
        inbox: new MemoryInbox(),
      })
      const message = smsMessage({ to: uniqueMainlandPhone(), otp: '482913' })
      const error = await provider
        .send(message, { signal: AbortSignal.timeout(3000), deadline: Date.now() + 3000 })
        .then(
          () => undefined,
          (e: unknown) => e,
        )
      expect(isProviderError(error) && error.kind).toBe('retryable')
    })
  })
}
