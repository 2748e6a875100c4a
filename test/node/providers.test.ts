import { parseServerConfig } from '../../src/node/config.js'
import { afterEach, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/index.js'
import { silentLogger } from '../../src/log.js'
import { startNodeServer, type NodeServer } from '../../src/node/server.js'
import { callsFor as aliyunCalls, uniqueMainlandPhone } from '../providers/aliyun/fake.js'
import { script } from '../providers/fake.js'
import { signupPayload } from '../support/payloads.js'
import { vendorEnv } from '../support/routing.js'
import { SECRET, signedPost } from '../support/sign.js'

const servers: NodeServer[] = []
afterEach(async () => {
  await Promise.allSettled(servers.splice(0).map((s) => s.close()))
})

describe('providers on Node', () => {
  it('gives Alibaba Cloud the official SDK when a route names it, even as the second provider', async () => {
    const { GOTRUE_SMS_ALIYUN_TRANSPORT: _fetch, ...env } = vendorEnv()
    const config = parseConfig({
      ...env,
      GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET,
      NODE_ENV: 'production',
      SMS_HOOK_ROUTES: '86=tencent,aliyun',
    })
    const server = await startNodeServer(config, parseServerConfig({ PORT: '0', HOST: '127.0.0.1' }), {
      logger: silentLogger,
    })
    servers.push(server)
    const phone = uniqueMainlandPhone()
    await script('tencent', phone, { error: 'InternalError' })
    const { body, uuid } = signupPayload({ phone })
    expect(await (await fetch(`${server.url}/send-sms`, signedPost(body))).text()).toBe('{}')
    const calls = await aliyunCalls(uuid)
    expect(calls).toHaveLength(1)
    expect(calls[0]?.userAgent).toMatch(/AlibabaCloud.*sms-hook/)
  })
})
