/**
 * Starts the servers that tests reach over HTTP and hands their URLs to the tests with `provide`/`inject`,
 * which also works for test pools that cannot share the Node process (workerd).
 */
import type { TestProject } from 'vitest/node'
import { startFakeAliyun } from './fakes/aliyun-server.js'
import { startFakeMessageBird } from './fakes/messagebird-server.js'
import { startNetworkFaults, type NetworkFaults } from './fakes/network-faults.js'
import { startFakeTencent } from './fakes/tencent-server.js'
import { startFakeTextlocal } from './fakes/textlocal-server.js'
import { startFakeTwilio } from './fakes/twilio-server.js'
import { startFakeVonage } from './fakes/vonage-server.js'
import { findRedisServer, startRedisServer } from './support/redis.js'
import { dropProvokedFaultLogs } from './support/workerd-log.js'

export type FakeVendorName = 'twilio' | 'vonage' | 'messagebird' | 'textlocal' | 'tencent'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the fake Alibaba Cloud endpoint (test/fakes/aliyun-server.ts). */
    aliyunUrl: string
    /** One URL per way a network can fail (test/fakes/network-faults.ts). */
    networkFaults: NetworkFaults
    /** Base URL of each fake vendor endpoint (test/fakes/<vendor>-server.ts). */
    vendorUrls: Record<FakeVendorName, string>
    /**
     * The Redis the Redis suites use: a `redis-server` started here when one is on the PATH, else `REDIS_URL`.
     * Without either, `url` is empty and `skipReason` says why the suites are skipped. `dedicated` tells whether
     * the suites may also start their own servers (to kill or slow them).
     */
    redis: { url: string; skipReason: string; dedicated: boolean }
  }
}

export default async function setup(project: TestProject) {
  // workerd logs each network fault the suites provoke as an uncaught exception with native stack traces.
  const restoreStderr = project.name === 'workerd' ? dropProvokedFaultLogs() : undefined
  const aliyun = await startFakeAliyun()
  project.provide('aliyunUrl', aliyun.url)
  const faults = await startNetworkFaults()
  project.provide('networkFaults', faults.urls)
  const vendors = {
    twilio: await startFakeTwilio(),
    vonage: await startFakeVonage(),
    messagebird: await startFakeMessageBird(),
    textlocal: await startFakeTextlocal(),
    tencent: await startFakeTencent(),
  }
  project.provide(
    'vendorUrls',
    Object.fromEntries(Object.entries(vendors).map(([name, fake]) => [name, fake.url])) as Record<
      FakeVendorName,
      string
    >,
  )
  const binary = findRedisServer()
  const redis = binary === undefined ? undefined : await startRedisServer({ binary })
  const url = redis?.url ?? process.env.REDIS_URL ?? ''
  project.provide('redis', {
    url,
    skipReason: url === '' ? 'no redis-server on the PATH and no REDIS_URL' : '',
    dedicated: redis !== undefined,
  })
  return async () => {
    restoreStderr?.()
    await Promise.all([
      aliyun.close(),
      faults.close(),
      redis?.stop(),
      ...Object.values(vendors).map((fake) => fake.close()),
    ])
  }
}
