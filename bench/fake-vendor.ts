/**
 * A Twilio-shaped SMS vendor on 127.0.0.1 for the overload rows: `POST /2010-04-01/Accounts/<sid>/Messages.json`
 * with a form (`To`, `Body`, ...), answered 201 with a message `sid` after a set delay, or never.
 *
 * It counts the sends per destination. The benchmark gives every call its own phone number, so a number sent to
 * twice is one idempotency key sent twice: the thing the service must never do.
 *
 * Run as its own process (`startFakeVendor()` in servers.ts); the benchmark drives it over HTTP:
 * - `POST /__bench/mode` `{"delayMs": 1000}` answers after a second; `{"delayMs": null}` never answers (the
 *   request is held until the hook gives up and closes it);
 * - `POST /__bench/reset` forgets the counts;
 * - `GET /__bench/calls`: `{ sends, numbers, sentTwice, maxPerNumber, open }`.
 */
import { randomBytes } from 'node:crypto'
import http from 'node:http'
import { pathToFileURL } from 'node:url'

export interface VendorCounts {
  /** Send requests received. */
  sends: number
  /** Distinct destinations among them. */
  numbers: number
  /** Destinations that were sent to more than once. */
  sentTwice: number
  maxPerNumber: number
  /** Send requests still held open (never-answering mode). */
  open: number
}

const MESSAGES = /^\/2010-04-01\/Accounts\/(AC[0-9a-fA-F]{32})\/Messages\.json$/

const serve = (port: number) => {
  let delayMs: number | null = 1000
  const perNumber = new Map<string, number>()
  let sends = 0
  let open = 0

  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body)
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
    res.end(text)
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString()
      const url = req.url ?? ''
      if (req.method === 'GET' && url === '/healthz') return json(res, 200, { status: 'ok' })
      if (req.method === 'GET' && url === '/__bench/calls') {
        let sentTwice = 0
        let maxPerNumber = 0
        for (const n of perNumber.values()) {
          if (n > 1) sentTwice++
          maxPerNumber = Math.max(maxPerNumber, n)
        }
        const counts: VendorCounts = { sends, numbers: perNumber.size, sentTwice, maxPerNumber, open }
        return json(res, 200, counts)
      }
      if (req.method === 'POST' && url === '/__bench/mode') {
        delayMs = (JSON.parse(body) as { delayMs: number | null }).delayMs
        return json(res, 200, { delayMs })
      }
      if (req.method === 'POST' && url === '/__bench/reset') {
        perNumber.clear()
        sends = 0
        return json(res, 200, {})
      }
      const match = MESSAGES.exec(url)
      if (req.method !== 'POST' || !match) return json(res, 404, { code: 20404, message: 'not found', status: 404 })
      if (!req.headers.authorization?.startsWith('Basic ')) {
        return json(res, 401, { code: 20003, message: 'Authenticate', status: 401 })
      }
      const form = new URLSearchParams(body)
      const to = form.get('To') ?? ''
      sends++
      perNumber.set(to, (perNumber.get(to) ?? 0) + 1)
      const answer = () =>
        json(res, 201, {
          sid: `SM${randomBytes(16).toString('hex')}`,
          account_sid: match[1],
          to,
          status: 'queued',
          body: form.get('Body'),
        })
      if (delayMs === null) {
        // Never answers: held until the caller closes the connection.
        open++
        res.on('close', () => open--)
        return
      }
      const timer = setTimeout(answer, delayMs)
      res.on('close', () => clearTimeout(timer))
    })
  })
  // Thousands of held requests must not be cut by Node's own request timeouts before the hook gives up.
  server.requestTimeout = 0
  server.headersTimeout = 60_000
  server.keepAliveTimeout = 60_000
  server.maxConnections = 100_000
  // A vendor's API takes any number of new connections at once; Node's default backlog (511) would drop SYNs
  // from a burst of a thousand and add the kernel's 1 s retransmission to the hook's time.
  server.listen({ port, host: '127.0.0.1', backlog: 4096 })
  process.on('SIGTERM', () => process.exit(0))
}

/** The benchmark's side: sets the mode and reads the counts. */
export class FakeVendorClient {
  constructor(readonly url: string) {}

  async mode(delayMs: number | null) {
    await this.#post('/__bench/mode', { delayMs })
  }

  async reset() {
    await this.#post('/__bench/reset', {})
  }

  async counts(): Promise<VendorCounts> {
    const res = await fetch(`${this.url}/__bench/calls`)
    return (await res.json()) as VendorCounts
  }

  async #post(path: string, body: unknown) {
    const res = await fetch(`${this.url}${path}`, { method: 'POST', body: JSON.stringify(body) })
    if (!res.ok) throw new Error(`fake vendor ${path}: ${res.status}`)
    await res.arrayBuffer()
  }
}

/** The environment that points the hook's Twilio provider at this fake. */
export const twilioEnv = (vendorUrl: string): Record<string, string> => ({
  GOTRUE_SMS_PROVIDER: 'twilio',
  GOTRUE_SMS_TWILIO_ACCOUNT_SID: `AC${'0123456789abcdef'.repeat(2)}`,
  GOTRUE_SMS_TWILIO_AUTH_TOKEN: 'bench-auth-token',
  GOTRUE_SMS_TWILIO_MESSAGE_SERVICE_SID: '+15005550006',
  GOTRUE_SMS_TWILIO_ENDPOINT: vendorUrl,
})

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  serve(Number(process.env.PORT))
}
