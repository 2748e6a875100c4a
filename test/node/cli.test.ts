import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/index.js'
import { silentLogger } from '../../src/log.js'
import { parseServerConfig } from '../../src/node/config.js'
import { startNodeServer, type NodeServer } from '../../src/node/server.js'
import { OTHER_SECRET, SECRET } from '../support/sign.js'
import { runTs } from './spawn.js'

let server: NodeServer
beforeAll(async () => {
  const config = parseConfig({ GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, NODE_ENV: 'development' })
  server = await startNodeServer(config, parseServerConfig({ PORT: '0', HOST: '127.0.0.1' }), { logger: silentLogger })
})
afterAll(() => server.close())

const cli = async (...args: string[]) => {
  const run = runTs('src/cli.ts', args)
  const code = await run.exited
  return { code, stdout: run.stdout(), stderr: run.stderr() }
}

const inbox = async () => (await (await fetch(`${server.url}/dev/inbox.json`)).json()) as { to: string; otp: string }[]

describe('sms-hook CLI', () => {
  it('secret: prints a v1,whsec_ secret of 32 random bytes', async () => {
    const { code, stdout } = await cli('secret')
    expect(code).toBe(0)
    const match = /^v1,whsec_([A-Za-z0-9+/=]+)\n$/.exec(stdout)
    expect(match).not.toBeNull()
    expect(Buffer.from(match![1]!, 'base64')).toHaveLength(32)
  })

  it('send-test: signs like GoTrue, prints the answer and exits 0 on success', async () => {
    const { code, stdout } = await cli('send-test', '--url', server.url, '--secret', SECRET, '--phone', '+8613800138000', '--otp', '765432')
    expect(stdout).toBe('HTTP 200\n{}\n')
    expect(code).toBe(0)
    expect((await inbox())[0]).toMatchObject({ to: '8613800138000', otp: '765432' })
  })

  it('send-test --legacy: sends a payload without metadata', async () => {
    const { code, stdout } = await cli('send-test', '--url', `${server.url}/send-sms`, '--secret', SECRET, '--phone', '14155550123', '--legacy')
    expect(code).toBe(0)
    expect(stdout).toBe('HTTP 200\n{}\n')
    expect((await inbox())[0]).toMatchObject({ to: '14155550123', otp: '123456' })
  })

  it('send-test signs with every secret of a rotation list', async () => {
    const { code } = await cli('send-test', '--url', server.url, '--secret', `${OTHER_SECRET}|${SECRET}`, '--phone', '8613800138000')
    expect(code).toBe(0)
  })

  it('send-test exits 1 and shows the 401 when the secret is wrong', async () => {
    const { code, stdout } = await cli('send-test', '--url', server.url, '--secret', OTHER_SECRET, '--phone', '8613800138000')
    expect(code).toBe(1)
    expect(stdout).toContain('HTTP 401')
    expect(stdout).toContain('Invalid webhook signature')
  })

  it.each(['--help', '-h', 'help', 'send-test --help', 'send-test --url http://localhost -h', 'secret --help'])(
    '"sms-hook %s" prints the usage and exits 0',
    async (args) => {
      const { code, stdout, stderr } = await cli(...args.split(' '))
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' })
      expect(stdout).toMatch(/^Usage:\n {2}sms-hook secret\n[\s\S]* {2}sms-hook send-test --url URL/)
    },
  )

  it('exits 2 with usage on missing options', async () => {
    const { code, stderr } = await cli('send-test', '--url', server.url)
    expect(code).toBe(2)
    expect(stderr).toContain('missing --secret, --phone')
  })
})
