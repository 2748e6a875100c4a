// `npm run dev:worker`: wrangler dev, offline. A Worker is always in production mode, so what `npm run dev` makes
// up on Node is passed here as bindings: the development hook secret (the one `npm run dev` keeps, so GoTrue's
// settings stay valid across restarts and across the two), and an inbox token so that the Worker's inbox (which
// in production needs SMS_HOOK_INBOX_TOKEN) stays one click away. A value set in .dev.vars (or, without one, in
// .env or .env.local, as wrangler reads them) wins. `--print-only` prints what would run, and starts nothing.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { tsImport } from 'tsx/esm/api'

// The one reading of the development secret, shared with the Node entry (src/node/main.ts).
const { DEV_SECRET_FILE, loadOrCreateDevSecret } = await tsImport('../src/node/dev-secret.ts', import.meta.url)

/** The settings wrangler dev gives the Worker from local files: .dev.vars, or else .env and .env.local. */
const localSettings = () => {
  const files = existsSync('.dev.vars') ? ['.dev.vars'] : ['.env', '.env.local'].filter((file) => existsSync(file))
  const settings = new Map()
  for (const file of files) {
    for (const line of readFileSync(file, 'utf8').split(/\r?\n/)) {
      const match = /^\s*(?:export\s+)?([\w.-]+)\s*=\s*(.*?)\s*$/.exec(line)
      if (match) settings.set(match[1], match[2].replace(/^(['"])(.*)\1$/, '$2'))
    }
  }
  return { files, settings }
}

const argv = process.argv.slice(2)
const printOnly = argv.includes('--print-only')
const port = process.env.PORT ?? '8787'
const { files, settings } = localSettings()
const given = (name) => (settings.get(name) ?? '') !== ''
const from = files.join(' or ')
const args = ['wrangler', 'dev', '--local', '--port', port, ...argv.filter((arg) => arg !== '--print-only')]

let secret
if (given('GOTRUE_HOOK_SEND_SMS_SECRETS')) {
  secret = `<GOTRUE_HOOK_SEND_SMS_SECRETS from ${from}>`
} else {
  const dev = loadOrCreateDevSecret()
  secret = dev.secret
  args.push('--var', `GOTRUE_HOOK_SEND_SMS_SECRETS:${dev.secret}`)
  console.log(`sms-hook: ${dev.created ? 'new development secret' : 'development secret'} (kept in ${DEV_SECRET_FILE})`)
}
let token
if (given('SMS_HOOK_INBOX_TOKEN')) {
  token = `<SMS_HOOK_INBOX_TOKEN from ${from}>`
} else {
  token = randomBytes(16).toString('hex')
  args.push('--var', `SMS_HOOK_INBOX_TOKEN:${token}`)
}

console.log(`sms-hook: GoTrue settings to paste:
    GOTRUE_HOOK_SEND_SMS_ENABLED=true
    GOTRUE_HOOK_SEND_SMS_URI=http://localhost:${port}/send-sms
    GOTRUE_HOOK_SEND_SMS_SECRETS=${secret}
sms-hook: inbox at http://localhost:${port}/dev/inbox?token=${token}${given('SMS_HOOK_INBOX_TOKEN') ? '' : ' (a development token, new on every start)'}
sms-hook: /readyz names any setting still missing (wrangler.toml's provider is aliyun: set GOTRUE_SMS_PROVIDER=console in .dev.vars to send nothing)`)

if (printOnly) {
  console.log(JSON.stringify(['npx', ...args]))
} else {
  const child = spawn('npx', args, {
    stdio: 'inherit',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
  })
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal))
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
}
