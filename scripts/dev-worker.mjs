// `npm run dev:worker`: wrangler dev, offline, with a development inbox token so that the Worker's inbox (a
// Worker is always in production mode, where the inbox needs SMS_HOOK_INBOX_TOKEN) stays one click away.
// Other settings come from .dev.vars as usual; a token set there wins.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'

const port = process.env.PORT ?? '8787'
const fromDevVars = existsSync('.dev.vars') && /^SMS_HOOK_INBOX_TOKEN=/m.test(readFileSync('.dev.vars', 'utf8'))
const token = randomBytes(16).toString('hex')
const args = ['wrangler', 'dev', '--local', '--port', port, ...process.argv.slice(2)]
if (!fromDevVars) args.push('--var', `SMS_HOOK_INBOX_TOKEN:${token}`)

console.log(
  fromDevVars
    ? `sms-hook: inbox at http://localhost:${port}/dev/inbox?token=<SMS_HOOK_INBOX_TOKEN from .dev.vars>`
    : `sms-hook: inbox at http://localhost:${port}/dev/inbox?token=${token} (a development token, new on every start)`,
)
const child = spawn('npx', args, {
  stdio: 'inherit',
  env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
})
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal))
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
