/**
 * The misconfigurations a team hits when it first deploys, tried on the real Node entry: each start reports
 * every mistake at once, names the closest known setting, refuses quotes, and logs one summary line when it starts.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { SECRET } from '../support/sign.js'
import { listeningUrl, runTs, type Running } from './spawn.js'

const started: Running[] = []
afterEach(() => {
  for (const run of started.splice(0)) run.child.kill('SIGKILL')
})

const main = (env: Record<string, string>) => {
  const run = runTs('src/node/main.ts', [], { env })
  started.push(run)
  return run
}

const errorLines = (run: Running) =>
  run
    .stderr()
    .split('\n')
    .filter((line) => line.startsWith('sms-hook: invalid configuration: '))

describe('a misconfigured production start', () => {
  it('reports every mistake of the start at once, one line each, and exits 1', async () => {
    const run = main({
      NODE_ENV: 'production',
      GOTRUE_SMS_PROVIDER: 'aliyun',
      SMS_HOOK_ALLOWED_COUNTRY: '86',
      REDIS_URI: 'redis://cache:6379',
      GOTRUE_SMS_ALIYUN_IS_TES: 'true',
      GOTRUE_SMS_ALIYUN_REGIONID: 'cn-shanghai',
      GOTRUE_SMS_ALIYUN_ACCESS_KEY_ID: '"LTAI5tExample"',
    })
    expect(await run.exited).toBe(1)
    expect(errorLines(run).map((line) => line.slice('sms-hook: invalid configuration: '.length))).toEqual([
      'SMS_HOOK_ALLOWED_COUNTRY: unknown setting; did you mean SMS_HOOK_ALLOWED_COUNTRIES?',
      'REDIS_URI: unknown setting; did you mean REDIS_URL?',
      'GOTRUE_SMS_ALIYUN_IS_TES: unknown setting; did you mean GOTRUE_SMS_ALIYUN_IS_TEST?',
      'GOTRUE_SMS_ALIYUN_REGIONID: unknown setting; did you mean GOTRUE_SMS_ALIYUN_REGION_ID?',
      expect.stringMatching(/^GOTRUE_HOOK_SEND_SMS_SECRETS: is required: set it to the same value as GoTrue's/),
      'GOTRUE_SMS_ALIYUN_ACCESS_KEY_ID: is wrapped in quotes ("..."): remove them, they would be part of the value',
      expect.stringMatching(/^GOTRUE_SMS_ALIYUN_ACCESS_KEY_SECRET: is required/),
      expect.stringMatching(/^GOTRUE_SMS_ALIYUN_TEMPLATE_CODE: is required unless GOTRUE_SMS_ALIYUN_IS_TEST=true/),
      expect.stringMatching(/^GOTRUE_SMS_ALIYUN_SIGN_NAME: is required unless/),
    ])
    expect(run.stderr()).not.toContain('LTAI5tExample')
    expect(run.stderr()).not.toMatch(/\n\s+at /)
  })

  it('starts with a GoTrue .env shared with the hook, and logs one summary line without secrets', async () => {
    const run = main({
      NODE_ENV: 'production',
      PORT: '0',
      SMS_HOOK_METRICS_PORT: '0',
      GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET,
      GOTRUE_HOOK_SEND_SMS_ENABLED: 'true',
      GOTRUE_HOOK_SEND_SMS_URI: 'http://sms-hook:8080/send-sms',
      GOTRUE_SMS_AUTOCONFIRM: 'false',
      GOTRUE_SMS_MAX_FREQUENCY: '60s',
      GOTRUE_SMS_OTP_LENGTH: '6',
      GOTRUE_SMS_PROVIDER: 'twilio',
      SMS_HOOK_ROUTES: '*=console',
      GOTRUE_SMS_TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`,
      GOTRUE_SMS_TWILIO_AUTH_TOKEN: 'twilio-token-not-to-print',
    })
    await listeningUrl(run)
    const summary = JSON.parse(await run.waitFor(/"msg":"configuration"/)) as Record<string, unknown>
    expect(summary).toMatchObject({
      level: 'info',
      mode: 'production',
      routes: '*=console',
      state: 'memory (this process only)',
      secrets: 1,
    })
    expect(summary.guard).toMatch(/per_number=10\/1h/)
    expect(String(summary.ignored)).toContain('GOTRUE_SMS_PROVIDER (ignored: SMS_HOOK_ROUTES decides the providers)')
    expect(String(summary.ignored)).toContain('GOTRUE_SMS_TWILIO_AUTH_TOKEN (ignored: no route uses twilio)')
    expect(JSON.parse(await run.waitFor(/GOTRUE_SMS_PROVIDER: ignored/))).toMatchObject({ level: 'warn' })
    expect(run.stdout() + run.stderr()).not.toContain('twilio-token-not-to-print')
    expect(run.stdout() + run.stderr()).not.toContain(SECRET.slice(10))
  })

  it('warns at every production start on the Aliyun test route, sign name or not', async () => {
    const run = main({
      NODE_ENV: 'production',
      PORT: '0',
      SMS_HOOK_METRICS_PORT: '0',
      GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET,
      GOTRUE_SMS_PROVIDER: 'aliyun',
      GOTRUE_SMS_ALIYUN_IS_TEST: 'true',
      GOTRUE_SMS_ALIYUN_ACCESS_KEY_ID: 'LTAI5tExampleKeyId',
      GOTRUE_SMS_ALIYUN_ACCESS_KEY_SECRET: 'example-secret-not-to-print',
    })
    await listeningUrl(run)
    expect(JSON.parse(await run.waitFor(/"msg":"configuration"/))).toMatchObject({
      aliyun_test_route: expect.stringMatching(/^on/),
    })
    expect(JSON.parse(await run.waitFor(/GOTRUE_SMS_ALIYUN_IS_TEST is on/))).toMatchObject({ level: 'warn' })
    expect(run.stdout() + run.stderr()).not.toContain('example-secret-not-to-print')
  })
})
