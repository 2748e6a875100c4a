import type { Context } from 'hono'
import { BodyTooLargeError, isBodyTooLargeError, RequestAbortedError } from '../errors.js'
import type { HeaderSource } from './verify.js'

/**
 * Reads the raw body, refusing more than `maxBytes`; a connection that closes before the body is complete
 * raises `RequestAbortedError`.
 *
 * Not Hono's bodyLimit middleware: it touches `c.req.raw.body`, which on @hono/node-server turns every request
 * into a web ReadableStream and costs the hook most of its throughput. GoTrue always sends a Content-Length
 * (Go's client knows the size of a marshalled body), which the runtime's HTTP parser enforces, so checking the
 * header and then taking `arrayBuffer()` (the runtimes' fast path) is exact; only a chunked body is streamed
 * and counted.
 */
export const readBody = async (
  c: Context,
  maxBytes: number,
  headers: HeaderSource = c.req.raw.headers,
): Promise<Uint8Array<ArrayBuffer>> => {
  try {
    return await read(c, maxBytes, headers)
  } catch (error) {
    if (!isBodyTooLargeError(error) && connectionClosed(c, error)) {
      throw new RequestAbortedError('the connection closed before the request body arrived', { cause: error })
    }
    throw error
  }
}

/**
 * Whether a failed read means the connection closed under it. Node's HTTP server fails the request stream with
 * `Error: aborted` (code ECONNRESET) when the socket closes mid-body, whether the client left or the server cut
 * it off (request timeout); @hono/node-server passes that error on from `arrayBuffer()` and from the stream
 * alike, and aborts the request's signal. Other runtimes abort the signal.
 */
const connectionClosed = (c: Context, error: unknown) =>
  (error as { code?: unknown } | null)?.code === 'ECONNRESET' || c.req.raw.signal.aborted

const read = async (c: Context, maxBytes: number, headers: HeaderSource): Promise<Uint8Array<ArrayBuffer>> => {
  const declared = headers.get('content-length') ?? undefined
  if (declared !== undefined && (headers.get('transfer-encoding') ?? undefined) === undefined) {
    if (!/^\d+$/.test(declared) || Number(declared) > maxBytes) throw new BodyTooLargeError()
    return new Uint8Array(await c.req.arrayBuffer())
  }
  const stream = c.req.raw.body
  if (!stream) return new Uint8Array(0)
  const reader = stream.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel()
      throw new BodyTooLargeError()
    }
    chunks.push(value)
  }
  const body = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    body.set(chunk, offset)
    offset += chunk.byteLength
  }
  return body
}
