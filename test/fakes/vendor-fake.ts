/**
 * What the fake vendor endpoints share: a real HTTP server on 127.0.0.1, the scripting and the record of
 * calls. Each vendor's module (test/fakes/<vendor>-server.ts) checks calls as that vendor does and answers
 * in its shapes; this one only plays what a test scripted.
 *
 * Tests drive a fake over HTTP only, so that the same tests run where they cannot reach this process (workerd):
 * - `POST /__script` `{"key": "<recipient digits>", "answers": [ScriptedAnswer, ...]}`: the next calls for that
 *   recipient which the vendor would accept get these answers in order, then success again;
 * - `GET /__calls?key=<recipient digits>`: every call received for that recipient, accepted or not.
 */
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface ScriptedAnswer {
  /** One of the vendor's own errors, by its code: the vendor module knows its HTTP status, shape and text. */
  error?: string | number
  /** Tencent Cloud only: the error comes per number, in `SendStatusSet`, rather than for the request. */
  perNumber?: boolean
  /** The vendor's explanation, where it depends on the case (Vonage's `error-text` for status 3). */
  detail?: string
  /** HTTP status for `raw`, or for the vendor's own answer. */
  status?: number
  headers?: Record<string, string>
  /** A body that is not the vendor's JSON (a proxy's error page). */
  raw?: string
  /** Never answer; the connection stays open until the client gives up. */
  hang?: boolean
  /** Send the headers and half the body, then close the connection. */
  cut?: boolean
  /** A 2xx whose body says nothing the provider can read as success. */
  body?: unknown
}

export interface FakeCall {
  method: string
  path: string
  /** The request headers the vendor reads; `authorization` included. */
  headers: Record<string, string>
  /** The parameters as the vendor parsed them: the form fields, or the JSON body. */
  params: Record<string, unknown>
  /** Whether the vendor would have accepted the call (credentials, signature, parameters). */
  accepted: boolean
  /** Why not, as the vendor's error code. */
  refusedWith?: string
  answer: { status: number } | 'hang' | 'cut'
}

export interface VendorRequest {
  method: string
  path: string
  headers: IncomingHttpHeaders
  body: Buffer
}

export interface Reply {
  status: number
  body: unknown
  headers?: Record<string, string>
}

export interface Checked {
  /** The recipient's digits, when the call names one: scripts and calls are keyed by it. */
  key?: string
  params: Record<string, unknown>
  /** The vendor's answer to a call it refuses, and its error code; absent when the call is accepted. */
  refusal?: { code: string; reply: Reply }
}

/** One vendor's rules. */
export interface VendorRules {
  /** Checks a call as the vendor does: method and path, credentials, content type, parameters. */
  check(request: VendorRequest): Checked
  /** The vendor's answer for one of its error codes. */
  error(answer: ScriptedAnswer, params: Record<string, unknown>): Reply
  success(params: Record<string, unknown>): Reply
}

export interface FakeVendor {
  url: string
  close(): Promise<void>
}

export const startFakeVendor = async (rules: VendorRules): Promise<FakeVendor> => {
  const scripts = new Map<string, ScriptedAnswer[]>()
  const calls: (FakeCall & { key?: string })[] = []

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const url = new URL(req.url ?? '/', 'http://fake')
      if (url.pathname === '/__script' && req.method === 'POST') {
        const { key, answers } = JSON.parse(body.toString('utf8')) as { key: string; answers: ScriptedAnswer[] }
        scripts.set(key, [...answers])
        return send(res, { status: 204, body: undefined })
      }
      if (url.pathname === '/__calls' && req.method === 'GET') {
        const key = url.searchParams.get('key')
        return send(res, { status: 200, body: calls.filter((call) => key === null || call.key === key) })
      }

      const checked = rules.check({
        method: req.method ?? 'GET',
        path: url.pathname + url.search,
        headers: req.headers,
        body,
      })
      const call: FakeCall & { key?: string } = {
        key: checked.key,
        method: req.method ?? 'GET',
        path: url.pathname + url.search,
        headers: readHeaders(req.headers),
        params: checked.params,
        accepted: checked.refusal === undefined,
        refusedWith: checked.refusal?.code,
        answer: 'hang',
      }
      calls.push(call)
      if (checked.refusal) {
        call.answer = { status: checked.refusal.reply.status }
        return send(res, checked.refusal.reply)
      }
      const scripted = (checked.key === undefined ? undefined : scripts.get(checked.key))?.shift()
      if (scripted?.hang) return
      let reply: Reply
      if (scripted?.raw !== undefined) {
        reply = {
          status: scripted.status ?? 500,
          body: scripted.raw,
          headers: { 'content-type': 'text/html', ...scripted.headers },
        }
      } else if (scripted?.body !== undefined) {
        reply = { status: scripted.status ?? 200, body: scripted.body, headers: scripted.headers }
      } else if (scripted?.error !== undefined) {
        const vendorReply = rules.error(scripted, checked.params)
        reply = {
          status: scripted.status ?? vendorReply.status,
          body: vendorReply.body,
          headers: { ...vendorReply.headers, ...scripted.headers },
        }
      } else {
        reply = rules.success(checked.params)
      }
      if (scripted?.cut) {
        call.answer = 'cut'
        const text = JSON.stringify(reply.body)
        res.writeHead(reply.status, {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(text)),
        })
        res.write(text.slice(0, Math.floor(text.length / 2)))
        setTimeout(() => res.destroy(), 20)
        return
      }
      call.answer = { status: reply.status }
      send(res, reply)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

const send = (res: ServerResponse, { status, body, headers = {} }: Reply) => {
  if (body === undefined) {
    res.writeHead(status, headers).end()
  } else if (typeof body === 'string') {
    res.writeHead(status, { 'content-type': 'text/plain', ...headers }).end(body)
  } else {
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body))
  }
}

const readHeaders = (headers: IncomingHttpHeaders): Record<string, string> =>
  Object.fromEntries(
    Object.entries(headers)
      .filter(([name]) => name !== 'connection' && name !== 'content-length')
      .map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : (value ?? '')]),
  )

/** Whether the request says its body is a form, or JSON: vendors read a body only by its content type. */
export const isForm = (request: VendorRequest) =>
  /^application\/x-www-form-urlencoded\b/i.test(request.headers['content-type'] ?? '')
export const isJson = (request: VendorRequest) => /^application\/json\b/i.test(request.headers['content-type'] ?? '')

/**
 * A form body as vendors read it (`+` is a space). Parsed whatever the content type says, so that a call
 * the vendor refuses for its content type is still recorded under its recipient.
 */
export const parseForm = (request: VendorRequest): Record<string, string> =>
  Object.fromEntries(new URLSearchParams(request.body.toString('utf8')))

/** A JSON object body, whatever the content type says (see `parseForm`); undefined when it is not one. */
export const parseJsonBody = (request: VendorRequest): Record<string, unknown> | undefined => {
  try {
    const value: unknown = JSON.parse(request.body.toString('utf8'))
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

/** Random hex of `bytes` bytes, for ids. */
export const hexId = (bytes: number) => randomBytes(bytes).toString('hex')
