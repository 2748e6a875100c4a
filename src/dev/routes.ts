import { Hono, type Context } from 'hono'
import type { Mode } from '../config/index.js'
import { errorBody } from '../errors.js'
import type { Inbox, InboxEntry } from './inbox.js'

export interface InboxRoutesOptions {
  inbox: Inbox
  mode: Mode
  /** The client's address; in production the inbox answers loopback callers only. */
  remoteAddress?: (c: Context) => string | undefined
}

/** Loopback in any of the forms a socket reports it. */
export const isLoopback = (address: string | undefined): boolean =>
  address !== undefined && (/^(::ffff:)?127\./.test(address) || address === '::1')

/**
 * `GET /dev/inbox` (a page that refreshes itself) and `GET /dev/inbox.json`, newest first: codes sent by the
 * console provider, for a developer's browser or an end-to-end test.
 */
export const inboxRoutes = ({ inbox, mode, remoteAddress }: InboxRoutesOptions) => {
  const routes = new Hono()
  if (mode === 'production') {
    // Production with the console provider is a deliberate choice (a staging box, say); even then the codes
    // are for whoever sits at the machine, not for the network.
    routes.use(async function loopbackOnly(c, next) {
      if (!isLoopback(remoteAddress?.(c))) {
        return c.json(errorBody(403, 'The inbox answers only local requests in production'), 403)
      }
      await next()
    })
  }
  routes.get('/inbox.json', async (c) => c.json(await inbox.list()))
  routes.get('/inbox', async (c) => c.html(renderInbox(await inbox.list())))
  return routes
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)

const renderInbox = (entries: InboxEntry[]) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="2">
<title>sms-hook inbox</title>
<style>
body{font:15px/1.4 system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem .8rem;border-bottom:1px solid #ddd}
.otp{font:bold 1.3rem ui-monospace,monospace;letter-spacing:.1em}.muted{color:#777}
</style>
</head>
<body>
<h1>sms-hook inbox</h1>
<p class="muted">Codes sent with the console provider, newest first (the last 100). This page refreshes itself.</p>
${
  entries.length === 0
    ? '<p>No messages yet.</p>'
    : `<table>
<thead><tr><th>Time</th><th>To</th><th>Code</th><th>Type</th><th>Text</th></tr></thead>
<tbody>
${entries
  .map(
    (e) =>
      `<tr><td>${escapeHtml(e.at)}</td><td>+${escapeHtml(e.to)}</td><td class="otp">${escapeHtml(e.otp)}</td><td>${escapeHtml(e.sms_type)}</td><td>${escapeHtml(e.text)}</td></tr>`,
  )
  .join('\n')}
</tbody>
</table>`
}
</body>
</html>
`
