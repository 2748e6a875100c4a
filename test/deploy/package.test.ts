/**
 * The npm package as it would ship: `npm pack` builds it (prepack), and what it holds installs with the production
 * dependencies alone into an empty folder, where `npx --no-install sms-hook` runs every command and the service
 * answers over HTTP. And a fresh clone installs with `npm ci --omit=dev`: no install script needs a dev tool.
 *
 * Dependencies come from the npm cache where it has them (`--prefer-offline`), from the npm registry otherwise.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { within } from '../node/socket.js'
import { listeningUrl, ROOT, run, type Running } from '../node/spawn.js'
import { aliyunEnv, callsFor, uniqueMainlandPhone } from '../providers/aliyun/fake.js'
import { signupPayload } from '../support/payloads.js'
import { SECRET, signedPost } from '../support/sign.js'

const NPM_ENV = {
  HOME: process.env.HOME,
  npm_config_update_notifier: 'false',
  npm_config_fund: 'false',
  npm_config_audit: 'false',
}
const INSTALL = ['--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error']

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string
  version: string
  license?: string
  private?: boolean
  scripts: Record<string, string>
}

/** Runs `command` to its end; its exit code and output. */
const finish = async (running: Running, timeoutMs: number, what: string) => {
  const code = await within(running.exited, timeoutMs, what)
  return { code, stdout: running.stdout(), stderr: running.stderr() }
}

const dirs: string[] = []
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), `sms-hook-${prefix}-`))
  dirs.push(dir)
  return dir
}
const servers: Running[] = []
afterAll(() => {
  for (const server of servers) if (server.child.exitCode === null) server.child.kill('SIGKILL')
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe('the npm package', () => {
  let packed: { filename: string; files: { path: string }[] }
  let app: string
  const npx = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    run('npx', ['--no-install', 'sms-hook', ...args], { cwd: app, env: { ...NPM_ENV, ...env } })

  beforeAll(async () => {
    const out = tempDir('pack')
    const pack = await finish(
      run('npm', ['pack', '--json', '--pack-destination', out], { env: NPM_ENV }),
      120_000,
      'npm pack',
    )
    expect(pack.code, pack.stderr).toBe(0)
    // npm prints the JSON after whatever the prepack script printed.
    packed = (JSON.parse(pack.stdout.slice(pack.stdout.indexOf('\n[') + 1)) as (typeof packed)[])[0]!
    app = tempDir('app')
    const install = await finish(
      run('npm', ['install', ...INSTALL, join(out, packed.filename)], { cwd: app, env: NPM_ENV }),
      240_000,
      'npm install of the package',
    )
    expect(install.code, install.stderr).toBe(0)
  }, 400_000)

  it('is publishable under the MIT license, and holds the build, the LICENSE and the README, no sources', () => {
    expect(pkg.private).toBeUndefined()
    expect(pkg.license).toBe('MIT')
    expect(packed.filename).toBe(`${pkg.name}-${pkg.version}.tgz`)
    const paths = packed.files.map((file) => file.path)
    expect(paths).toEqual(
      expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'build/cli.js', 'build/node/main.js']),
    )
    expect(
      paths.filter((path) => !path.startsWith('build/') && !['LICENSE', 'README.md', 'package.json'].includes(path)),
    ).toEqual([])
    expect(readFileSync(join(app, 'node_modules/sms-hook/LICENSE'), 'utf8')).toMatch(
      /^MIT License\n\nCopyright \(c\) 2026 sms-hook contributors/,
    )
  })

  it('installs without the dev dependencies: no TypeScript, no bundler', () => {
    expect(existsSync(join(app, 'node_modules/sms-hook/build/node/main.js'))).toBe(true)
    expect(existsSync(join(app, 'node_modules/typescript'))).toBe(false)
    expect(existsSync(join(app, 'node_modules/esbuild'))).toBe(false)
  })

  it('npx --no-install sms-hook: help, secret', async () => {
    const help = await finish(npx(['--help']), 60_000, 'sms-hook --help')
    expect(help.code, help.stderr).toBe(0)
    expect(help.stdout).toContain('Usage:')
    const secret = await finish(npx(['secret']), 60_000, 'sms-hook secret')
    expect(secret.code, secret.stderr).toBe(0)
    expect(secret.stdout.trim()).toMatch(/^v1,whsec_[A-Za-z0-9+/]{43}=$/)
  }, 120_000)

  it('runs the service, which answers /healthz and a signed hook sent by send-test', async () => {
    const env = {
      ...NPM_ENV,
      PORT: '0',
      HOST: '127.0.0.1',
      NODE_ENV: 'production',
      GOTRUE_SMS_PROVIDER: 'console',
      GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET,
      SMS_HOOK_METRICS_PORT: '0',
    }
    // What serve will read, checked first by the installed package's own check.
    const checked = await finish(npx(['check'], env), 60_000, 'sms-hook check')
    expect(checked.code, checked.stderr).toBe(0)
    expect(checked.stdout).toContain('sms-hook: configuration is valid')
    // As a process manager runs it (docs/cli.md): the package's bin itself, which a SIGTERM reaches; npx would
    // stand between them and pass no signal on.
    const server = run(join(app, 'node_modules/.bin/sms-hook'), ['serve'], { cwd: app, env })
    servers.push(server)
    const url = await listeningUrl(server, 60_000)
    const health = await fetch(`${url}/healthz`)
    expect(health.status).toBe(200)
    await health.arrayBuffer()
    const sent = await finish(
      npx(['send-test', '--url', url, '--secret', SECRET, '--phone', '+8613800138000', '--otp', '246810']),
      60_000,
      'sms-hook send-test',
    )
    expect(sent.code, sent.stdout + sent.stderr).toBe(0)
    expect(sent.stdout).toMatch(/^HTTP 200\n\{\}/)
    await server.waitFor(/246810/)
    server.child.kill('SIGTERM')
    expect(await within(server.exited, 15_000, 'the service exited')).toBe(0)
  }, 180_000)

  // The bundles the build keeps off the start (the official Alibaba Cloud SDK, the Redis state), loaded with
  // their code caches from the installed package.
  it.skipIf(inject('redis').url === '')(
    'sends through the official Alibaba Cloud SDK with Redis state',
    async () => {
      const server = run(process.execPath, ['node_modules/sms-hook/build/node/main.js'], {
        cwd: app,
        env: {
          ...aliyunEnv({ GOTRUE_SMS_ALIYUN_TRANSPORT: 'sdk' }),
          PORT: '0',
          HOST: '127.0.0.1',
          NODE_ENV: 'production',
          GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET,
          SMS_HOOK_METRICS_PORT: '0',
          REDIS_URL: inject('redis').url,
          SMS_HOOK_REDIS_PREFIX: `package-test-${process.pid}:`,
        },
      })
      servers.push(server)
      const url = await listeningUrl(server, 60_000)
      // As a readiness probe would: Redis connects alongside the start, within a second or two of a loaded machine.
      let ready = await fetch(`${url}/readyz`)
      for (let tries = 0; ready.status !== 200 && tries < 20; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 250))
        ready = await fetch(`${url}/readyz`)
      }
      // The service's own log, should Redis never be ready: the reason is there.
      expect(ready.status, `${await ready.text()}\n${server.stdout()}${server.stderr()}`).toBe(200)
      const { body, uuid } = signupPayload({ phone: uniqueMainlandPhone() })
      expect(await (await fetch(`${url}/send-sms`, signedPost(body))).text()).toBe('{}')
      const calls = await callsFor(uuid)
      expect(calls).toHaveLength(1)
      expect(calls[0]).toMatchObject({
        action: 'SendSms',
        signatureValid: true,
        userAgent: expect.stringMatching(/AlibabaCloud.*sms-hook/),
      })
      // The same call again is answered from the shared state: nothing sent twice.
      expect(await (await fetch(`${url}/send-sms`, signedPost(body))).text()).toBe('{}')
      expect(await callsFor(uuid)).toHaveLength(1)
      server.child.kill('SIGTERM')
      expect(await within(server.exited, 15_000, 'the service exited')).toBe(0)
    },
    120_000,
  )
})

describe('a fresh clone', () => {
  it('installs with npm ci --omit=dev: no lifecycle script needs a dev dependency', async () => {
    // The scripts npm runs on its own at install: none may call a dev tool (tsc, esbuild), which is not installed.
    for (const name of ['preinstall', 'install', 'postinstall', 'prepare'])
      expect(pkg.scripts[name], name).toBeUndefined()
    const clone = tempDir('clone')
    // What npm ci and npm start read of a clone.
    mkdirSync(join(clone, 'scripts'))
    for (const file of ['package.json', 'package-lock.json', 'scripts/start.mjs'])
      copyFileSync(join(ROOT, file), join(clone, file))
    const ci = await finish(run('npm', ['ci', ...INSTALL], { cwd: clone, env: NPM_ENV }), 240_000, 'npm ci --omit=dev')
    expect(ci.code, ci.stderr).toBe(0)
    expect(existsSync(join(clone, 'node_modules/hono'))).toBe(true)
    expect(existsSync(join(clone, 'node_modules/typescript'))).toBe(false)
    // Without a build, npm start says what to run instead of failing on a missing compiler.
    const start = await finish(
      run('npm', ['start'], { cwd: clone, env: { ...NPM_ENV, GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET } }),
      30_000,
      'npm start',
    )
    expect(start.code).toBe(1)
    expect(start.stderr.trim()).toMatch(/^sms-hook: build\/node\/main\.js is missing: run `npm run build` first/)
  }, 300_000)
})
