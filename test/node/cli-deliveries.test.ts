import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { systemClock } from '../../src/clock.js'
import { parseConfig } from '../../src/config/index.js'
import { MemoryDeliveryStore } from '../../src/delivery/memory.js'
import { createNumberKey, numberKeyMaterial } from '../../src/delivery/number-key.js'
import type { DeliveryRecord } from '../../src/delivery/types.js'
import { maskPhone, silentLogger } from '../../src/log.js'
import { parseServerConfig } from '../../src/node/config.js'
import { startNodeServer, type NodeServer } from '../../src/node/server.js'
import { SECRET } from '../support/sign.js'
import { runTs } from './spawn.js'

const ADMIN_TOKEN = 'cli-admin-token-0123456789abcdef'
const CN = '8613800138000'
const faults = inject('networkFaults')

/** A real listening service: the lookup on with `adminToken`, off without. */
const startService = async (adminToken: string | undefined) => {
  const config = parseConfig({
    GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET,
    NODE_ENV: 'development',
    ...(adminToken ? { SMS_HOOK_ADMIN_TOKEN: adminToken } : {}),
  })
  const deliveries = new MemoryDeliveryStore({ clock: systemClock })
  const server = await startNodeServer(config, parseServerConfig({ PORT: '0', HOST: '127.0.0.1' }), {
    logger: silentLogger,
    deliveries,
  })
  // The key the app derives for itself: the seeded records are found as the handler's would be.
  const numberKey = createNumberKey(numberKeyMaterial(config.delivery.adminToken, config.hook.secrets))
  const seed = async (e164: string, fields: Partial<DeliveryRecord> & { reference: string; sentAt: number }) =>
    deliveries.record(
      {
        provider: 'aliyun',
        status: 'accepted',
        statusAt: fields.sentAt,
        to: maskPhone(e164),
        number: await numberKey(e164),
        country: '86',
        ...fields,
      },
      config.delivery.ttlMs,
    )
  return { server, seed }
}

let lookup: Awaited<ReturnType<typeof startService>>
let without: Awaited<ReturnType<typeof startService>>
beforeAll(async () => {
  lookup = await startService(ADMIN_TOKEN)
  without = await startService(undefined)
  await lookup.seed(CN, {
    reference: '6c1f0b1e-5d3a-4a9e-9d1b-7c2f3e4a5b6c',
    sentAt: Date.parse('2025-03-01T08:00:00.250Z'),
    vendorMessageId: '900612345678^0',
  })
  await lookup.seed(CN, {
    reference: 'b2e4c6d8-0a1b-4c3d-8e5f-6a7b8c9d0e1f',
    provider: 'tencent',
    status: 'failed',
    sentAt: Date.parse('2025-03-01T08:01:30.000Z'),
    statusAt: Date.parse('2025-03-01T08:01:45.000Z'),
    vendorMessageId: '2433:1234',
    vendorCode: 'MOBILE_NUMBER_ILLEGAL',
  })
  await lookup.seed('8613900139000', { reference: 'other-number', sentAt: Date.parse('2025-03-01T09:00:00.000Z') })
})
afterAll(async () => {
  await lookup?.server.close()
  await without?.server.close()
})

const cli = async (args: string[], env: Record<string, string> = {}) => {
  const running = runTs('src/cli.ts', ['deliveries', ...args], { env })
  const code = await running.exited
  return { code, stdout: running.stdout(), stderr: running.stderr() }
}

const TABLE = [
  'SENT AT               PROVIDER  STATUS    VENDOR CODE            TO             REFERENCE',
  '2025-03-01 08:01:30Z  tencent   failed    MOBILE_NUMBER_ILLEGAL  86138****8000  b2e4c6d8-0a1b-4c3d-8e5f-6a7b8c9d0e1f',
  '2025-03-01 08:00:00Z  aliyun    accepted  -                      86138****8000  6c1f0b1e-5d3a-4a9e-9d1b-7c2f3e4a5b6c',
  '',
].join('\n')

describe('sms-hook deliveries', () => {
  it('--phone prints one line per send to that number, newest first, and exits 0', async () => {
    const result = await cli(['--url', lookup.server.url, '--token', ADMIN_TOKEN, '--phone', CN])
    expect(result).toEqual({ code: 0, stdout: TABLE, stderr: '' })
  })

  it('takes the number with +, the token from SMS_HOOK_ADMIN_TOKEN, and a URL ending in /send-sms', async () => {
    const result = await cli(['--url', `${lookup.server.url}/send-sms`, '--phone', `+${CN}`], {
      SMS_HOOK_ADMIN_TOKEN: ADMIN_TOKEN,
    })
    expect(result).toEqual({ code: 0, stdout: TABLE, stderr: '' })
  })

  it('--json prints the hook answer as it is', async () => {
    const direct = await fetch(`${lookup.server.url}/deliveries?to=${CN}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    })
    const answer = await direct.text()
    const result = await cli(['--url', lookup.server.url, '--token', ADMIN_TOKEN, '--phone', CN, '--json'])
    expect(result).toEqual({ code: 0, stdout: `${answer}\n`, stderr: '' })
    expect(JSON.parse(result.stdout)).toStrictEqual({
      deliveries: [
        {
          reference: 'b2e4c6d8-0a1b-4c3d-8e5f-6a7b8c9d0e1f',
          provider: 'tencent',
          status: 'failed',
          vendor_message_id: '2433:1234',
          vendor_code: 'MOBILE_NUMBER_ILLEGAL',
          sent_at: '2025-03-01T08:01:30.000Z',
          status_at: '2025-03-01T08:01:45.000Z',
          to: '86138****8000',
        },
        {
          reference: '6c1f0b1e-5d3a-4a9e-9d1b-7c2f3e4a5b6c',
          provider: 'aliyun',
          status: 'accepted',
          vendor_message_id: '900612345678^0',
          vendor_code: null,
          sent_at: '2025-03-01T08:00:00.250Z',
          status_at: '2025-03-01T08:00:00.250Z',
          to: '86138****8000',
        },
      ],
    })
  })

  it('--reference prints that one send', async () => {
    const reference = '6c1f0b1e-5d3a-4a9e-9d1b-7c2f3e4a5b6c'
    const result = await cli(['--url', lookup.server.url, '--token', ADMIN_TOKEN, '--reference', reference])
    expect(result).toEqual({
      code: 0,
      stdout: [
        'SENT AT               PROVIDER  STATUS    VENDOR CODE  TO             REFERENCE',
        `2025-03-01 08:00:00Z  aliyun    accepted  -            86138****8000  ${reference}`,
        '',
      ].join('\n'),
      stderr: '',
    })
    const json = await cli(['--url', lookup.server.url, '--token', ADMIN_TOKEN, '--reference', reference, '--json'])
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toMatchObject({ reference, provider: 'aliyun', status: 'accepted' })
  })

  it('says so when no send to the number is kept, and exits 0', async () => {
    const result = await cli(['--url', lookup.server.url, '--token', ADMIN_TOKEN, '--phone', '14155550123'])
    expect(result).toEqual({
      code: 0,
      stdout: 'No send to that number is kept (within SMS_HOOK_RECEIPT_TTL).\n',
      stderr: '',
    })
  })

  it('an unknown reference: says none is kept, exits 1', async () => {
    const result = await cli(['--url', lookup.server.url, '--token', ADMIN_TOKEN, '--reference', 'no-such-ref'])
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr:
        `sms-hook deliveries: ${lookup.server.url}/deliveries/no-such-ref: HTTP 404: no send with reference ` +
        '"no-such-ref" is kept (unknown, or older than SMS_HOOK_RECEIPT_TTL)\n',
    })
  })

  it('a wrong token: says the token is wrong, exits 1', async () => {
    const result = await cli(['--url', lookup.server.url, '--token', `${ADMIN_TOKEN}x`, '--phone', CN])
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr:
        `sms-hook deliveries: ${lookup.server.url}/deliveries: HTTP 401: the token is wrong: ` +
        "give the hook's SMS_HOOK_ADMIN_TOKEN (--token)\n",
    })
  })

  it.each([
    ['--phone', CN],
    ['--reference', 'b2e4c6d8-0a1b-4c3d-8e5f-6a7b8c9d0e1f'],
  ])('a hook without SMS_HOOK_ADMIN_TOKEN (%s): says it has no lookup, exits 1', async (option, value) => {
    const result = await cli(['--url', without.server.url, '--token', ADMIN_TOKEN, option, value])
    expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 1, stdout: '' })
    expect(result.stderr).toMatch(
      new RegExp(
        `^sms-hook deliveries: ${without.server.url}/deliveries(/\\S+)?: HTTP 404: the hook has no lookup: it serves ` +
          "/deliveries only with SMS_HOOK_ADMIN_TOKEN set and SMS_HOOK_RECEIPTS on \\(or the URL is not the hook's\\)\\n$",
      ),
    )
  })

  it('names a refused connection in one line and exits 1', async () => {
    const result = await cli(['--url', faults.refused, '--token', ADMIN_TOKEN, '--phone', CN])
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `sms-hook deliveries: ${faults.refused}/deliveries: connection refused: nothing listens there (ECONNREFUSED)\n`,
    })
  })

  it.each([
    [['--token', ADMIN_TOKEN, '--phone', CN], 'missing --url'],
    [
      ['--url', 'localhost:8080', '--token', ADMIN_TOKEN, '--phone', CN],
      '--url "localhost:8080": missing http:// or https://',
    ],
    [
      ['--url', 'http://127.0.0.1:1/?x=1', '--token', ADMIN_TOKEN, '--phone', CN],
      '--url "http://127.0.0.1:1/?x=1": give the base URL, without ? or #',
    ],
    [['--url', 'http://127.0.0.1:1', '--phone', CN], 'missing --token (or SMS_HOOK_ADMIN_TOKEN in the environment)'],
    [['--url', 'http://127.0.0.1:1', '--token', ADMIN_TOKEN], 'missing --phone or --reference'],
    [
      ['--url', 'http://127.0.0.1:1', '--token', ADMIN_TOKEN, '--phone', CN, '--reference', 'r'],
      '--phone and --reference exclude each other: give one',
    ],
    [
      ['--url', 'http://127.0.0.1:1', '--token', ADMIN_TOKEN, '--phone', '12ab'],
      '--phone must be a number as GoTrue has it, such as 8613800138000 or +8613800138000',
    ],
    [['--url', 'http://127.0.0.1:1', '--token', ADMIN_TOKEN, '--phone', CN, 'extra'], 'unexpected argument "extra"'],
    [['--url', 'http://127.0.0.1:1', '--token', ADMIN_TOKEN, '--phone', CN, '--bogus'], 'unknown option --bogus'],
    [['--url', 'http://127.0.0.1:1', '--token', ADMIN_TOKEN, '--phone', CN, '--json=yes'], '--json takes no value'],
    [['--url', '--token', ADMIN_TOKEN, '--phone', CN], '--url needs a value'],
  ])('refuses %j with exit status 2, before any request', async (args, message) => {
    const result = await cli(args)
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: `sms-hook deliveries: ${message}; see "sms-hook deliveries --help"\n`,
    })
  })

  it.each([[['deliveries', '--help']], [['deliveries', '-h']], [['help', 'deliveries']]])(
    '"sms-hook %j" describes the command and exits 0',
    async (args) => {
      const running = runTs('src/cli.ts', args)
      expect(await running.exited).toBe(0)
      expect(running.stderr()).toBe('')
      expect(running.stdout()).toMatch(/^Usage: sms-hook deliveries --url URL \(--phone NUMBER \| --reference REF\)/)
      expect(running.stdout()).toContain('SMS_HOOK_ADMIN_TOKEN')
      expect(running.stdout()).not.toContain('Usage: sms-hook send-test')
    },
  )

  it('is listed by "sms-hook --help"', async () => {
    const running = runTs('src/cli.ts', ['--help'])
    expect(await running.exited).toBe(0)
    expect(running.stdout()).toMatch(/^ {2}deliveries {2}\S/m)
  })
})
