/**
 * Starts the servers that tests reach over HTTP and hands their URLs to the tests with `provide`/`inject`,
 * which also works for test pools that cannot share the Node process (workerd).
 */
import type { TestProject } from 'vitest/node'
import { startFakeAliyun } from './fakes/aliyun-server.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the fake Alibaba Cloud endpoint (test/fakes/aliyun-server.ts). */
    aliyunUrl: string
  }
}

export default async function setup(project: TestProject) {
  const aliyun = await startFakeAliyun()
  project.provide('aliyunUrl', aliyun.url)
  return () => aliyun.close()
}
