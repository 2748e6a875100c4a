import { Hono } from 'hono/tiny'
import type { Context } from 'hono'
import type { Mode } from '../config/index.js'
import type { Env } from '../config/env.js'
import { get, token, type SettingDocs, type Settings } from '../config/settings.js'
import { errorBody } from '../errors.js'
import type { RateCounters } from '../store/types.js'
import { bearerToken, isToken } from '../token.js'
import type { Inbox, InboxEntry } from './inbox.js'

/** `SMS_HOOK_INBOX_TOKEN`: without it, production serves no inbox at all. */
export interface InboxConfig {
  token: string | undefined
}

const COOKIE = 'sms_hook_inbox'

/** The token also travels as a cookie value, which may not hold `;` or `,`. */
export const INBOX_SETTINGS = {
  SMS_HOOK_INBOX_TOKEN: { parse: token(/[\s;,]/, 'spaces, commas or semicolons'), secret: true },
} as const satisfies Settings

export const INBOX_SETTING_DOCS: SettingDocs<typeof INBOX_SETTINGS> = {
  SMS_HOOK_INBOX_TOKEN:
    "Token of the console provider's inbox (/dev/inbox) outside development; no inbox in production without it.",
}

export const parseInboxConfig = (env: Env): InboxConfig => ({ token: get(env, INBOX_SETTINGS, 'SMS_HOOK_INBOX_TOKEN') })

export interface InboxRoutesOptions {
  inbox: Inbox
  mode: Mode
  config: InboxConfig
  /** The client's address as the socket reports it (Node); development mode answers private networks by it. */
  remoteAddress?: ((c: Context) => string | undefined) | undefined
  /** The guard's counters, which `DELETE /dev/inbox` clears too in development mode (when they can be). */
  counters?: RateCounters
}

/**
 * Whether the inbox routes exist at all: always in development; in production only with a token, because an
 * address cannot prove who asks (behind a reverse proxy on the same host every request comes from 127.0.0.1,
 * and on Workers the client address is a header).
 */
export const servesInbox = (mode: Mode, config: InboxConfig): boolean =>
  mode === 'development' || config.token !== undefined

/**
 * `GET /dev/inbox` (a page that updates itself), `GET /dev/inbox.json[?to=<number>]` and `DELETE /dev/inbox`:
 * codes kept by the console provider, for a developer's browser or an end-to-end test. In development mode
 * `DELETE` also clears the guard's in-memory counters.
 *
 * Who may read them: whoever carries `SMS_HOOK_INBOX_TOKEN` as `Authorization: Bearer <token>` or in the cookie
 * that opening `/dev/inbox?token=<token>` once sets; in development mode also any caller on this machine or a
 * private network (GoTrue and a browser in Docker or on the LAN), and no one else.
 */
export const inboxRoutes = ({ inbox, mode, config, remoteAddress, counters }: InboxRoutesOptions) => {
  const routes = new Hono()
  const { token } = config
  const carriesToken = (c: Context): boolean =>
    token !== undefined &&
    isToken(bearerToken(c.req.header('authorization')) ?? cookie(c.req.header('cookie'), COOKIE), token)

  routes.use(async function inboxAccess(c, next) {
    if (token !== undefined && c.req.method === 'GET' && c.req.path.endsWith('/inbox')) {
      if (isToken(c.req.query('token'), token)) {
        // The page polls with this cookie; the token leaves the address bar (and the history) at once.
        const secure = new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https'
        // The token has no character a cookie value must not carry (parseInboxConfig refuses them).
        c.header('set-cookie', `${COOKIE}=${token}; Path=/dev; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`)
        return c.redirect(c.req.path, 303)
      }
    }
    if (carriesToken(c)) return next()
    if (mode === 'development' && isPrivateAddress(remoteAddress?.(c))) return next()
    if (mode === 'development') {
      return c.json(errorBody(403, 'The inbox answers this machine and private networks only'), 403)
    }
    c.header('www-authenticate', 'Bearer')
    return c.json(errorBody(401, 'The inbox needs SMS_HOOK_INBOX_TOKEN'), 401)
  })

  routes.get('/inbox.json', async (c) => {
    const to = c.req.query('to')?.replace(/^\+/, '').trim()
    const entries = await inbox.list()
    return c.json(to ? entries.filter((e) => e.to === to) : entries)
  })
  routes.get('/inbox', async (c) => c.html(renderInbox(await inbox.list())))
  routes.delete('/inbox', async (c) => {
    await inbox.clear()
    // A fresh start for the next try: the send-test that hit a limit works again without a restart.
    if (mode === 'development') await counters?.clear?.()
    return c.body(null, 204)
  })
  return routes
}

/**
 * Loopback, private (RFC 1918, fc00::/7) and link-local addresses, in the forms a socket reports them
 * (IPv4-mapped IPv6 included): where a developer's GoTrue, Docker network or browser sits.
 */
const isPrivateAddress = (address: string | undefined): boolean => {
  if (address === undefined) return false
  const v4 = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/i.exec(address)
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])]
    return (
      a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254)
    )
  }
  const v6 = address.toLowerCase()
  return v6 === '::1' || /^f[cd][0-9a-f]{2}:/.test(v6) || /^fe[89ab][0-9a-f]:/.test(v6)
}

/** One cookie's value from a `Cookie` header (RFC 6265: `name=value` pairs joined by `; `). */
const cookie = (header: string | undefined, name: string): string | undefined => {
  for (const pair of header?.split(';') ?? []) {
    const at = pair.indexOf('=')
    if (at > 0 && pair.slice(0, at).trim() === name) return pair.slice(at + 1).trim()
  }
  return undefined
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)

const row = (e: InboxEntry) =>
  `<tr><td><time datetime="${escapeHtml(e.at)}">${escapeHtml(e.at)}</time></td><td>+${escapeHtml(e.to)}</td>` +
  `<td class="otp">${escapeHtml(e.otp)}</td><td>${escapeHtml(e.sms_type)}</td><td>${escapeHtml(e.text)}</td></tr>`

/**
 * The page renders the current list, then polls `inbox.json` and rebuilds only the table body with DOM text
 * nodes (never HTML), so a code being copied is not interrupted by a page reload and nothing shown can run.
 */
const renderInbox = (entries: InboxEntry[]) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>sms-hook inbox</title>
<style>
body{font:15px/1.4 system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem .8rem;border-bottom:1px solid #ddd}
.otp{font:bold 1.3rem ui-monospace,monospace;letter-spacing:.1em}.muted{color:#777}
</style>
</head>
<body>
<h1>sms-hook inbox</h1>
<p class="muted">Codes sent with the console provider, newest first (the last 100). This list updates itself.</p>
<table>
<thead><tr><th>Time</th><th>To</th><th>Code</th><th>Type</th><th>Text</th></tr></thead>
<tbody id="messages">
${entries.length === 0 ? '<tr><td colspan="5">No messages yet.</td></tr>' : entries.map(row).join('\n')}
</tbody>
</table>
<script>
const body = document.getElementById('messages')
const local = (iso) => new Date(iso).toLocaleString()
for (const t of body.querySelectorAll('time')) t.textContent = local(t.dateTime)
let shown = ''
const cell = (text, className) => {
  const td = document.createElement('td')
  td.textContent = text
  if (className) td.className = className
  return td
}
const refresh = async () => {
  const response = await fetch('inbox.json', { credentials: 'same-origin', cache: 'no-store' })
  if (!response.ok) return
  const entries = await response.json()
  const key = entries.map((e) => e.id + e.at).join()
  if (key === shown) return
  shown = key
  const rows = entries.map((e) => {
    const tr = document.createElement('tr')
    tr.append(cell(local(e.at)), cell('+' + e.to), cell(e.otp, 'otp'), cell(e.sms_type), cell(e.text))
    return tr
  })
  if (rows.length === 0) {
    const tr = document.createElement('tr')
    const td = cell('No messages yet.')
    td.colSpan = 5
    tr.append(td)
    rows.push(tr)
  }
  body.replaceChildren(...rows)
}
setInterval(() => refresh().catch(() => {}), 2000)
</script>
</body>
</html>
`
