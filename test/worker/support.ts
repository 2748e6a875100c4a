/**
 * Drives the Worker entry as the runtime does: its default export's `fetch`, with bindings that hold the real
 * Durable Object namespaces of `wrangler.toml` and exactly the settings a case gives (nothing from a local
 * `.dev.vars` leaks in).
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { onTestFinished, vi } from 'vitest'
import type { InboxEntry } from '../../src/dev/inbox.js'
import worker, { type Bindings } from '../../src/worker/index.js'
import { NO_LIMITS } from '../support/app.js'
import { SECRET } from '../support/sign.js'

export type Settings = Record<string, string | undefined>
export type LogLine = { level: string; msg: string } & Record<string, unknown>

export const CONSOLE: Settings = { GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET, GOTRUE_SMS_PROVIDER: 'console' }

/**
 * A new bindings object, as a new isolate gets: the Worker builds one app per bindings object, so two of them
 * share nothing but the Durable Objects, like two isolates. The guard's limits are off unless `settings` set
 * them, as the counters outlive a case.
 */
export const isolate = (
  settings: Settings,
  objects: Partial<Bindings> = {
    IDEMPOTENCY: env.IDEMPOTENCY,
    INBOX: env.INBOX,
    COUNTERS: env.COUNTERS,
    DELIVERIES: env.DELIVERIES,
  },
) => ({ ...objects, ...NO_LIMITS, ...settings }) as Bindings

/** One request through `export default { fetch }`, waiting for what it left running. */
export const call = async (bindings: Bindings, path: string, init?: RequestInit): Promise<Response> => {
  const ctx = createExecutionContext()
  // Typed as a request from Cloudflare's edge; locally it has no `cf` properties, which the Worker never reads.
  const request = new Request(`https://sms-hook.example${path}`, init) as Request<unknown, IncomingRequestCfProperties>
  const response = await worker.fetch(request, bindings, ctx)
  await waitOnExecutionContext(ctx)
  return response
}

/** The JSON lines the Worker logs during the current test (the Worker runs in the tests' isolate). */
export const captureLogs = (): LogLine[] => {
  const lines: LogLine[] = []
  const spy = vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
    if (typeof line === 'string' && line.startsWith('{')) lines.push(JSON.parse(line) as LogLine)
  })
  onTestFinished(() => spy.mockRestore())
  return lines
}

/** The console inbox as its Durable Object holds it, read directly rather than through the routes under test. */
export const inboxEntries = (id: string): Promise<InboxEntry[]> =>
  env.INBOX.getByName('inbox')
    .list()
    .then((entries) => entries.filter((entry) => entry.id === id))
