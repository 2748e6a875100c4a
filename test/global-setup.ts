/**
 * Starts the servers that tests reach over HTTP and hands their URLs to the tests with `provide`/`inject`,
 * which also works for test pools that cannot share the Node process (workerd).
 */
import type { TestProject } from 'vitest/node'
import { startFakeAliyun } from './fakes/aliyun-server.js'
import { startNetworkFaults, type NetworkFaults } from './fakes/network-faults.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the fake Alibaba Cloud endpoint (test/fakes/aliyun-server.ts). */
    aliyunUrl: string
    /** One URL per way a network can fail (test/fakes/network-faults.ts). */
    networkFaults: NetworkFaults
  }
}

export default async function setup(project: TestProject) {
  const aliyun = await startFakeAliyun()
  project.provide('aliyunUrl', aliyun.url)
  const faults = await startNetworkFaults()
  project.provide('networkFaults', faults.urls)
  return async () => {
    await aliyun.close()
    await faults.close()
  }
}
