/**
 * Starts the servers that tests reach over the network and hands their addresses to the tests with
 * `provide`/`inject`, which also works for test pools that cannot share the Node process (workerd).
 */
import type { TestProject } from 'vitest/node'
import { startFakeAliyun } from './fakes/aliyun-server.js'
import { findRedisServer, startRedisServer } from './support/redis.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the fake Alibaba Cloud endpoint (test/fakes/aliyun-server.ts). */
    aliyunUrl: string
    /**
     * The Redis the Redis suites use: a `redis-server` started here when one is on the PATH, else `REDIS_URL`.
     * Without either, `url` is empty and `skipReason` says why the suites are skipped. `dedicated` tells whether
     * the suites may also start their own servers (to kill or slow them).
     */
    redis: { url: string; skipReason: string; dedicated: boolean }
  }
}

export default async function setup(project: TestProject) {
  const aliyun = await startFakeAliyun()
  project.provide('aliyunUrl', aliyun.url)
  const binary = findRedisServer()
  const redis = binary === undefined ? undefined : await startRedisServer({ binary })
  const url = redis?.url ?? process.env.REDIS_URL ?? ''
  project.provide('redis', {
    url,
    skipReason: url === '' ? 'no redis-server on the PATH and no REDIS_URL' : '',
    dedicated: redis !== undefined,
  })
  return async () => {
    await aliyun.close()
    await redis?.stop()
  }
}
