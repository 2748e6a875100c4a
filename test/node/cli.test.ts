import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest'
import { parseConfig } from '../../src/config/index.js'
import { silentLogger } from '../../src/log.js'
import { parseServerConfig } from '../../src/node/config.js'
import { startNodeServer, type NodeServer } from '../../src/node/server.js'
import { fixtures } from '../support/payloads.js'
import { OTHER_SECRET, SECRET } from '../support/sign.js'
import { listeningUrl, ROOT, run, runTs, type Running } from './spawn.js'

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version
const COMMANDS = ['serve', 'check', 'send-test', 'secret']
const faults = inject('networkFaults')

let server: NodeServer
beforeAll(async () => {
  const config = parseConfig({ GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, NODE_ENV: 'development' })
  server = await startNodeServer(config, parseServerConfig({ PORT: '0', HOST: '127.0.0.1' }), { logger: silentLogger })
})
afterAll(() => server.close())

const started: Running[] = []
afterEach(() => {
  // A test that fails before it stops its service would leave it running.
  for (const running of started.splice(0)) {
    if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGKILL')
  }
})

const cli = async (args: string[], env: Record<string, string> = {}) => {
  const running = runTs('src/cli.ts', args, { env })
  const code = await running.exited
  return { code, stdout: running.stdout(), stderr: running.stderr() }
}

const sendTest = (url: string, ...more: string[]) => cli(['send-test', '--url', url, '--secret', SECRET, ...more])

const inbox = async () =>
  (await (await fetch(`${server.url}/dev/inbox.json`)).json()) as { to: string; otp: string; sms_type: string }[]

/** Production with the console provider, metrics on a free port rather than 9464, which another service may hold. */
const PRODUCTION = {
  NODE_ENV: 'production',
  GOTRUE_SMS_PROVIDER: 'console',
  GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET,
  PORT: '0',
  HOST: '127.0.0.1',
  SMS_HOOK_METRICS_PORT: '0',
}

/** An HTTP server that keeps every body it receives and answers 204, to see the payload itself. */
const startRecorder = async () => {
  const bodies: string[] = []
  const recorder: Server = createServer((request: IncomingMessage, response) => {
    let body = ''
    request.on('data', (chunk: Buffer) => (body += chunk.toString()))
    request.on('end', () => {
      bodies.push(body)
      response.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`
  return { url, last: () => JSON.parse(bodies.at(-1)!) as Payload, close: () => recorder.close() }
}

interface Payload {
  metadata?: unknown
  user: { phone: string; new_phone?: string; factors?: { factor_type: string; phone: string; status: string }[] }
  sms: { otp: string; phone?: string; sms_type?: string }
}

describe('sms-hook secret', () => {
  it('prints a v1,whsec_ secret of 32 random bytes', async () => {
    const { code, stdout } = await cli(['secret'])
    expect(code).toBe(0)
    const match = /^v1,whsec_([A-Za-z0-9+/=]+)\n$/.exec(stdout)
    expect(match).not.toBeNull()
    expect(Buffer.from(match![1]!, 'base64')).toHaveLength(32)
  })
})

describe('sms-hook send-test', () => {
  it('signs like GoTrue, prints the answer and exits 0 on success', async () => {
    const { code, stdout } = await sendTest(server.url, '--phone', '+8613800138000', '--otp', '765432')
    expect(stdout).toBe('HTTP 200\n{}\n')
    expect(code).toBe(0)
    expect((await inbox())[0]).toMatchObject({ to: '8613800138000', otp: '765432', sms_type: 'sms' })
  })

  it('--legacy: sends a payload without metadata', async () => {
    const { code, stdout } = await sendTest(`${server.url}/send-sms`, '--phone', '14155550123', '--legacy')
    expect(code).toBe(0)
    expect(stdout).toBe('HTTP 200\n{}\n')
    expect((await inbox())[0]).toMatchObject({ to: '14155550123', otp: '123456' })
  })

  it('signs with every secret of a rotation list', async () => {
    const secrets = `${OTHER_SECRET}|${SECRET}`
    const { code } = await cli(['send-test', '--url', server.url, '--secret', secrets, '--phone', '8613800138000'])
    expect(code).toBe(0)
  })

  it('exits 1 and shows the 401 when the secret is wrong', async () => {
    const wrong = ['send-test', '--url', server.url, '--secret', OTHER_SECRET, '--phone', '8613800138000']
    const { code, stdout } = await cli(wrong)
    expect(code).toBe(1)
    expect(stdout).toContain('HTTP 401')
    expect(stdout).toContain('Invalid webhook signature')
  })

  it.each([[[]], [['--legacy']]])('--mfa %j: an MFA challenge the service delivers as one', async (legacy) => {
    const args = ['--phone', '8613700137000', '--otp', '902114', '--mfa', ...legacy]
    const { code, stdout } = await sendTest(server.url, ...args)
    expect({ code, stdout }).toEqual({ code: 0, stdout: 'HTTP 200\n{}\n' })
    expect((await inbox())[0]).toMatchObject({ to: '8613700137000', otp: '902114', sms_type: 'mfa' })
  })

  it.each([[[]], [['--legacy']]])('--new-phone %j: a phone change, its code to the new number', async (legacy) => {
    const args = ['--phone', '8613800138000', '--new-phone', '+8613900139000', '--otp', '730155', ...legacy]
    const { code, stdout } = await sendTest(server.url, ...args)
    expect({ code, stdout }).toEqual({ code: 0, stdout: 'HTTP 200\n{}\n' })
    expect((await inbox())[0]).toMatchObject({ to: '8613900139000', otp: '730155', sms_type: 'sms' })
  })

  it('puts each number where GoTrue does, as in the recorded payloads', async () => {
    const recorder = await startRecorder()
    try {
      const phoneChange = JSON.parse(fixtures.phoneChange) as Payload
      await sendTest(recorder.url, '--phone', '8613800138000', '--new-phone', '8613900139000')
      const { phone, new_phone } = phoneChange.user
      expect(recorder.last().user).toMatchObject({ phone, new_phone })
      expect(Object.keys(recorder.last().sms)).toEqual(Object.keys(phoneChange.sms))
      expect(recorder.last().sms.phone).toBe(phoneChange.sms.phone)

      const mfa = JSON.parse(fixtures.mfa) as Payload
      await sendTest(recorder.url, '--phone', mfa.sms.phone!, '--mfa')
      expect(Object.keys(recorder.last().sms)).toEqual(Object.keys(mfa.sms))
      expect(recorder.last().sms).toMatchObject({ sms_type: 'mfa', phone: mfa.sms.phone })

      // Before v2.180 the challenged number is in user.factors only (test/fixtures/gotrue/mfa-challenge-v2.173.json).
      await sendTest(recorder.url, '--phone', '8613700137000', '--mfa', '--legacy')
      expect(recorder.last().metadata).toBeUndefined()
      expect(recorder.last().sms).toEqual({ otp: '123456', sms_type: 'mfa' })
      expect(recorder.last().user.factors).toEqual([
        expect.objectContaining({ factor_type: 'phone', phone: '8613700137000', status: 'verified' }),
      ])
    } finally {
      recorder.close()
    }
  })

  it('names a refused connection in one line and exits 1', async () => {
    const { code, stdout, stderr } = await sendTest(faults.refused, '--phone', '8613800138000')
    expect({ code, stdout }).toEqual({ code: 1, stdout: '' })
    expect(stderr).toBe(
      `sms-hook send-test: ${faults.refused}/send-sms: connection refused: nothing listens there (ECONNREFUSED)\n`,
    )
  })

  it('names a certificate no client trusts', async () => {
    const { code, stderr } = await sendTest(faults.selfSignedTls, '--phone', '8613800138000')
    expect(code).toBe(1)
    expect(stderr).toBe(
      `sms-hook send-test: ${faults.selfSignedTls}/send-sms: TLS: the server's certificate is not trusted: ` +
        'self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT); GoTrue refuses it too\n',
    )
  })

  it('says when an https:// URL reaches a server that speaks plain HTTP', async () => {
    const { code, stderr } = await sendTest(server.url.replace('http:', 'https:'), '--phone', '8613800138000')
    expect(code).toBe(1)
    const https = server.url.replace('http:', 'https:')
    expect(stderr).toBe(
      `sms-hook send-test: ${https}/send-sms: TLS handshake failed: the server does not speak TLS; ` +
        'is the URL http:// rather than https://? (ERR_SSL_WRONG_VERSION_NUMBER)\n',
    )
  })

  it('names a connection the server resets', async () => {
    const { code, stderr } = await sendTest(faults.resetOnConnect, '--phone', '8613800138000')
    expect(code).toBe(1)
    // The reset reaches the client as a failed read, a failed write or a closed socket, depending on timing, and
    // now and then as a request that fetch drops without a word (no code then).
    const codes = '( \\((ECONNRESET|EPIPE|UND_ERR_SOCKET)\\))?'
    expect(stderr).toMatch(new RegExp(`: the server closed the connection without an answer${codes}\\n$`))
    expect(stderr.startsWith(`sms-hook send-test: ${faults.resetOnConnect}/send-sms: `)).toBe(true)
  })

  const schemeless = ['127.0.0.1:8080/send-sms', 'localhost:8080', 'sms.example.com']
  it.each(schemeless)('refuses --url %s: missing http:// or https://', async (url) => {
    const { code, stdout, stderr } = await sendTest(url, '--phone', '8613800138000')
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' })
    expect(stderr).toBe(
      `sms-hook send-test: --url "${url}": missing http:// or https://; see "sms-hook send-test --help"\n`,
    )
  })

  const url = ['--url', 'http://127.0.0.1:1']
  const ok = [...url, '--secret', SECRET, '--phone', '8613800138000']
  it.each([
    ['missing --secret, --phone', url],
    ['--url needs a value', ['--url', '--secret', SECRET]],
    ['--phone must be an E.164 number', [...url, '--secret', SECRET, '--phone', '12']],
    ['--mfa and --new-phone exclude each other', [...ok, '--mfa', '--new-phone', '8613900139000']],
    ['--new-phone must differ from --phone', [...ok, '--new-phone', '8613800138000']],
    ['--secret: the secret must look like', [...url, '--secret', 'not-a-secret', '--phone', '8613800138000']],
    ['--mfa takes no value', [...ok, '--mfa=yes']],
    ['--otp must be 6 to 10 digits', [...ok, '--otp', '12345']],
  ])('refuses with exit status 2 and one line: %s', async (message, args) => {
    const { code, stdout, stderr } = await cli(['send-test', ...args])
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' })
    expect(stderr).toContain(message)
    expect(stderr.trimEnd().split('\n')).toHaveLength(1)
  })
})

describe('sms-hook check', () => {
  it('prints a summary of a valid configuration and exits 0', async () => {
    const { code, stdout, stderr } = await cli(['check'], PRODUCTION)
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' })
    expect(stdout.split('\n')).toEqual(
      expect.arrayContaining([
        'sms-hook: configuration is valid',
        '  mode: production',
        '  routes: *=console',
        '  secrets: 1',
      ]),
    )
    expect(stdout).not.toContain(SECRET.slice(10))
  })

  it('exits 1 with every wrong variable, one line each, without listening', async () => {
    const { GOTRUE_HOOK_SEND_SMS_SECRETS: _, ...withoutSecret } = PRODUCTION
    const { code, stdout, stderr } = await cli(['check'], {
      ...withoutSecret,
      SMS_HOOK_ALLOWED_COUNTRY: '86',
      LOG_LEVEL: '"info"',
    })
    expect({ code, stdout }).toEqual({ code: 1, stdout: '' })
    expect(stderr.trimEnd().split('\n')).toEqual([
      'sms-hook: invalid configuration: SMS_HOOK_ALLOWED_COUNTRY: unknown setting; did you mean SMS_HOOK_ALLOWED_COUNTRIES?',
      expect.stringMatching(/^sms-hook: invalid configuration: GOTRUE_HOOK_SEND_SMS_SECRETS: is required/),
      'sms-hook: invalid configuration: LOG_LEVEL: is wrapped in quotes ("..."): remove them, they would be part of the value',
    ])
  })

  it('says which settings are ignored, and why, on stderr', async () => {
    const { code, stderr } = await cli(['check'], {
      ...PRODUCTION,
      SMS_HOOK_ROUTES: '*=console',
      GOTRUE_SMS_PROVIDER: 'console',
    })
    expect(code).toBe(0)
    expect(stderr).toBe('sms-hook: warning: GOTRUE_SMS_PROVIDER: ignored: SMS_HOOK_ROUTES decides the providers\n')
  })
})

describe('sms-hook serve', () => {
  it('runs the service as node build/node/main.js does, and stops cleanly on SIGTERM', async () => {
    const service = runTs('src/cli.ts', ['serve'], { env: PRODUCTION })
    started.push(service)
    const url = await listeningUrl(service)
    expect(await sendTest(url, '--phone', '8613800138000')).toMatchObject({ code: 0, stdout: 'HTTP 200\n{}\n' })
    service.child.kill('SIGTERM')
    expect(await service.exited).toBe(0)
    expect(service.stdout()).toContain('"mode":"production"')
  })

  it('--dev: development mode with its inbox, where an MFA challenge shows as one', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'sms-hook-serve-'))
    const service = runTs('src/cli.ts', ['serve', '--dev'], { env: { PORT: '0', HOST: '127.0.0.1' }, cwd })
    started.push(service)
    const url = await listeningUrl(service)
    await service.waitFor(/development mode/)
    const secret = readFileSync(join(cwd, '.sms-hook-dev-secret'), 'utf8').trim()
    const sent = await cli(['send-test', '--url', url, '--secret', secret, '--phone', '8613700137000', '--mfa'])
    expect(sent).toMatchObject({ code: 0, stdout: 'HTTP 200\n{}\n' })
    const entries = (await (await fetch(`${url}/dev/inbox.json`)).json()) as { to: string; sms_type: string }[]
    expect(entries[0]).toMatchObject({ to: '8613700137000', sms_type: 'mfa' })
    service.child.kill('SIGTERM')
    expect(await service.exited).toBe(0)
  })

  it('refuses a wrong configuration as the service does, with exit status 1', async () => {
    const { code, stderr } = await cli(['serve'], { ...PRODUCTION, SMS_HOOK_TIMEOUT_MS: '6000' })
    expect(code).toBe(1)
    expect(stderr).toContain('invalid configuration: SMS_HOOK_TIMEOUT_MS: must be between 100 and 4800')
  })
})

describe('every command', () => {
  const versions = ['--version', ...COMMANDS.map((command) => `${command} --version`)]
  it.each(versions)('"sms-hook %s" prints the version of package.json', async (args) => {
    const { code, stdout, stderr } = await cli(args.split(' '))
    expect({ code, stdout, stderr }).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' })
  })

  it.each([['--help'], ['-h'], ['help']])('"sms-hook %s" lists every command and exits 0', async (flag) => {
    const { code, stdout, stderr } = await cli([flag])
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' })
    expect(stdout).toMatch(/^Usage: sms-hook <command>/)
    for (const command of COMMANDS) expect(stdout).toMatch(new RegExp(`^ {2}${command} `, 'm'))
  })

  it.each(
    COMMANDS.flatMap((command) => [
      [command, '--help'],
      [command, '-h'],
      ['help', command],
    ]),
  )('"sms-hook %s %s" describes that command only', async (...args) => {
    const { code, stdout, stderr } = await cli(args)
    const command = args[0] === 'help' ? args[1] : args[0]
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' })
    expect(stdout).toMatch(new RegExp(`^Usage: sms-hook ${command}\\b`))
    expect(stdout).not.toContain('Commands:')
    for (const other of COMMANDS.filter((c) => c !== command)) {
      expect(stdout).not.toContain(`Usage: sms-hook ${other}`)
    }
  })

  it('--help wins wherever it stands, even after options of the command', async () => {
    const { code, stdout } = await cli(['send-test', '--url', 'http://localhost', '-h'])
    expect(code).toBe(0)
    expect(stdout).toMatch(/^Usage: sms-hook send-test /)
  })

  const extras = COMMANDS.flatMap((command) => [
    [command, 'extra', 'unexpected argument "extra"'],
    [command, '--bogus', 'unknown option --bogus'],
  ])
  it.each(extras)('"sms-hook %s %s" is refused with exit status 2', async (command, extra, message) => {
    const { code, stdout, stderr } = await cli([command, extra], PRODUCTION)
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' })
    expect(stderr).toBe(`sms-hook ${command}: ${message}; see "sms-hook ${command} --help"\n`)
  })

  it('refuses an unknown command, and no command at all, with exit status 2', async () => {
    const unknown = await cli(['frobnicate'])
    const refusal = 'sms-hook: unknown command "frobnicate"; see "sms-hook --help"\n'
    expect(unknown).toEqual({ code: 2, stdout: '', stderr: refusal })
    const none = await cli([])
    expect({ code: none.code, stdout: none.stdout }).toEqual({ code: 2, stdout: '' })
    expect(none.stderr).toMatch(/^Usage: sms-hook <command>/)
  })
})

/** The newest modification time under `dir`. */
const newest = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
    const path = join(dir, entry.name)
    return Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs)
  }, 0)

/** Whether any process of the process group `pgid` is still running. */
const groupAlive = (pgid: number) => {
  try {
    process.kill(-pgid, 0)
    return true
  } catch {
    return false
  }
}

describe('the installed package', () => {
  it('sms-hook is the package bin: npx --no-install runs it, and on its own it stops on SIGTERM', async () => {
    const entry = join(ROOT, 'build/cli.js')
    if ((existsSync(entry) ? statSync(entry).mtimeMs : 0) < newest(join(ROOT, 'src'))) {
      // The same build as `npm run build` (bundled by esbuild, which resolves the package's `#` imports).
      const build = run(process.execPath, [join(ROOT, 'scripts/build.mjs')])
      expect(await build.exited, build.stdout()).toBe(0)
    }
    const direct = run(process.execPath, [entry, '--version'])
    expect(await direct.exited).toBe(0)
    expect(direct.stdout()).toBe(`${VERSION}\n`)

    // An application that depends on sms-hook: npm links the folder and its bin, as it installs a package.
    const app = mkdtempSync(join(tmpdir(), 'sms-hook-app-'))
    writeFileSync(join(app, 'package.json'), '{"name":"app","private":true}\n')
    const npm = { HOME: process.env.HOME ?? app, npm_config_update_notifier: 'false' }
    const flags = ['--no-save', '--offline', '--ignore-scripts', '--no-audit', '--no-fund']
    const install = run('npm', ['install', ...flags, ROOT], { cwd: app, env: npm })
    expect(await install.exited, install.stderr()).toBe(0)

    const version = run('npx', ['--no-install', 'sms-hook', '--version'], { cwd: app, env: npm })
    expect(await version.exited, version.stderr()).toBe(0)
    expect(version.stdout()).toBe(`${VERSION}\n`)

    // npx runs the bin through a shell and passes no signal on: only a signal to the whole process group (Ctrl-C
    // in a terminal, systemd's default) reaches the service. setsid gives npx a group of its own to signal.
    const env = { ...npm, ...PRODUCTION }
    const viaNpx = run('setsid', ['npx', '--no-install', 'sms-hook', 'serve'], { cwd: app, env })
    started.push(viaNpx)
    const npxUrl = await listeningUrl(viaNpx)
    expect(await sendTest(npxUrl, '--phone', '8613800138000')).toMatchObject({ code: 0, stdout: 'HTTP 200\n{}\n' })
    process.kill(-viaNpx.child.pid!, 'SIGINT')
    await viaNpx.exited
    while (groupAlive(viaNpx.child.pid!)) await new Promise((resolve) => setTimeout(resolve, 50))
    expect(viaNpx.stdout()).toContain('"msg":"shutting down: finishing in-flight hooks","signal":"SIGINT"')

    // What a process manager that signals one process starts: the bin itself, one process.
    const service = run(join(app, 'node_modules/.bin/sms-hook'), ['serve'], { cwd: app, env: PRODUCTION })
    started.push(service)
    const url = await listeningUrl(service)
    expect(await sendTest(url, '--phone', '8613800138000')).toMatchObject({ code: 0, stdout: 'HTTP 200\n{}\n' })
    service.child.kill('SIGTERM')
    expect(await service.exited).toBe(0)
  }, 180_000)
})
