/**
 * `npm run dev:worker` (scripts/dev-worker.mjs) as a real process in a fresh directory, with `--print-only` so that
 * it prints the wrangler command it would run instead of starting wrangler.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SECRET } from '../support/sign.js'

const SCRIPT = resolve('scripts/dev-worker.mjs')
const SECRET_FILE = '.sms-hook-dev-secret'

const directory = (files: Record<string, string> = {}) => {
  const cwd = mkdtempSync(join(tmpdir(), 'sms-hook-dev-worker-'))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(cwd, name), text)
  return cwd
}

/** What one start prints, and the `--var` bindings of the wrangler command it would run. */
const start = (cwd: string) => {
  const out = execFileSync(process.execPath, [SCRIPT, '--print-only'], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, PORT: '8799' },
  })
  const command = JSON.parse(out.trimEnd().split('\n').at(-1)!) as string[]
  const vars = new Map<string, string>()
  command.forEach((arg, i) => {
    if (arg !== '--var') return
    const [name, ...value] = command[i + 1]!.split(':')
    vars.set(name!, value.join(':'))
  })
  return { out, command, vars }
}

describe('npm run dev:worker', () => {
  it('makes a development secret once, keeps it for restarts, and prints the GoTrue settings', () => {
    const cwd = directory()
    const first = start(cwd)
    const secret = readFileSync(join(cwd, SECRET_FILE), 'utf8').trim()
    expect(secret).toMatch(/^v1,whsec_[A-Za-z0-9+/]{43}=$/)
    expect(statSync(join(cwd, SECRET_FILE)).mode & 0o077).toBe(0)
    expect(first.command.slice(0, 6)).toEqual(['npx', 'wrangler', 'dev', '--local', '--port', '8799'])
    expect(first.vars.get('GOTRUE_HOOK_SEND_SMS_SECRETS')).toBe(secret)
    expect(first.out).toContain(`new development secret (kept in ${SECRET_FILE})`)
    expect(first.out).toContain('GOTRUE_HOOK_SEND_SMS_URI=http://localhost:8799/send-sms')
    expect(first.out).toContain(`GOTRUE_HOOK_SEND_SMS_SECRETS=${secret}`)

    const second = start(cwd)
    expect(second.vars.get('GOTRUE_HOOK_SEND_SMS_SECRETS')).toBe(secret)
    expect(second.out).toContain(`development secret (kept in ${SECRET_FILE})`)
    expect(second.out).not.toContain('new development secret')
  })

  it('uses the secret `npm run dev` left, so GoTrue needs one setting for both', () => {
    const cwd = directory({ [SECRET_FILE]: `${SECRET}\n` })
    expect(start(cwd).vars.get('GOTRUE_HOOK_SEND_SMS_SECRETS')).toBe(SECRET)
  })

  it('passes a new inbox token on every start, and the inbox URL that carries it', () => {
    const cwd = directory()
    const [first, second] = [start(cwd), start(cwd)]
    const token = first.vars.get('SMS_HOOK_INBOX_TOKEN')
    expect(token).toMatch(/^[0-9a-f]{32}$/)
    expect(second.vars.get('SMS_HOOK_INBOX_TOKEN')).not.toBe(token)
    expect(first.out).toContain(`http://localhost:8799/dev/inbox?token=${token}`)
  })

  it('leaves to .dev.vars what it sets, and makes no secret then', () => {
    const cwd = directory({ '.dev.vars': `GOTRUE_HOOK_SEND_SMS_SECRETS="${SECRET}"\nSMS_HOOK_INBOX_TOKEN=mine\n` })
    const { vars, out } = start(cwd)
    expect([...vars.keys()]).toEqual([])
    expect(() => statSync(join(cwd, SECRET_FILE))).toThrow()
    expect(out).toContain('GOTRUE_HOOK_SEND_SMS_SECRETS=<GOTRUE_HOOK_SEND_SMS_SECRETS from .dev.vars>')
    expect(out).not.toContain(SECRET)
  })

  it('reads an empty value in .dev.vars as unset, as the Worker does', () => {
    const cwd = directory({ '.dev.vars': 'GOTRUE_HOOK_SEND_SMS_SECRETS=\n' })
    expect(start(cwd).vars.get('GOTRUE_HOOK_SEND_SMS_SECRETS')).toMatch(/^v1,whsec_/)
  })

  it('reads .env and .env.local only without .dev.vars, as wrangler does', () => {
    const env = { '.env.local': `export GOTRUE_HOOK_SEND_SMS_SECRETS=${SECRET}\n` }
    expect(start(directory(env)).vars.has('GOTRUE_HOOK_SEND_SMS_SECRETS')).toBe(false)
    const shadowed = directory({ ...env, '.dev.vars': 'LOG_LEVEL=debug\n' })
    expect(start(shadowed).vars.get('GOTRUE_HOOK_SEND_SMS_SECRETS')).toMatch(/^v1,whsec_/)
  })
})
