import { describe, expect, it } from 'vitest'
import { DEFAULT_MAX_CONNECTIONS, parseServerConfig } from '../../src/node/config.js'

describe('parseServerConfig', () => {
  it('listens on 0.0.0.0:8080 and holds up to 1024 connections by default', () => {
    expect(parseServerConfig({})).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      maxConnections: DEFAULT_MAX_CONNECTIONS,
    })
    expect(DEFAULT_MAX_CONNECTIONS).toBe(1024)
  })

  it('reads SMS_HOOK_MAX_CONNECTIONS', () => {
    expect(parseServerConfig({ SMS_HOOK_MAX_CONNECTIONS: '64' }).maxConnections).toBe(64)
  })

  it.each(['0', '-1', 'many', '1.5', '1000001'])('refuses SMS_HOOK_MAX_CONNECTIONS=%s, naming it', (value) => {
    expect(() => parseServerConfig({ SMS_HOOK_MAX_CONNECTIONS: value })).toThrow(/^SMS_HOOK_MAX_CONNECTIONS: must be/)
  })

  it.each([
    '0.0.0.0',
    '::',
    '::1',
    '127.0.0.1',
    'localhost',
    'sms-hook.internal',
    'host.docker.internal',
    'compose_hook_1',
  ])('takes HOST=%s', (host) => {
    expect(parseServerConfig({ HOST: host }).host).toBe(host)
  })

  it.each(['http://0.0.0.0', '0.0.0.0:8080', '[::1]', 'my host', '-leading-dash', 'sms-hook..internal'])(
    'refuses HOST=%s at once, naming it',
    (host) => {
      expect(() => parseServerConfig({ HOST: host })).toThrow(/^HOST: must be an IP address or a host name/)
    },
  )
})
