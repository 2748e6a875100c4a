/** A raw TCP client, for what fetch cannot do: send a request slowly, send part of one, or hold a connection idle. */
import { connect, type Socket } from 'node:net'
import { gotrueHeaders } from '../support/sign.js'

export interface RawClient {
  socket: Socket
  /** Everything the server sent so far. */
  received(): string
  /** Resolves with everything received once the connection is closed, by either side. */
  closed: Promise<string>
  /** Sends `text` one character every `everyMs` until it is all sent or the connection closes. */
  trickle(text: string, everyMs?: number): void
}

export const openRaw = (url: string): Promise<RawClient> =>
  new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url)
    const socket = connect(Number(port), hostname)
    let received = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => (received += chunk))
    // A reset by the server is a way of closing too; the test looks at what was received.
    socket.on('error', () => {})
    const closed = new Promise<string>((r) => socket.once('close', () => r(received)))
    socket.once('connect', () => {
      socket.off('error', reject)
      resolve({
        socket,
        received: () => received,
        closed,
        trickle(text, everyMs = 50) {
          let at = 0
          const timer = setInterval(() => {
            if (socket.destroyed || at >= text.length) return clearInterval(timer)
            socket.write(text[at++]!)
          }, everyMs)
          socket.once('close', () => clearInterval(timer))
        },
      })
    })
    socket.once('error', reject)
  })

/** A signed `POST /send-sms` as raw HTTP/1.1: the head (request line and headers) and the body, to send apart. */
export const rawSignedPost = (body: string, headers: Record<string, string> = gotrueHeaders(body)) => ({
  head:
    'POST /send-sms HTTP/1.1\r\nHost: localhost\r\n' +
    Object.entries({ ...headers, 'content-length': String(Buffer.byteLength(body)) })
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('') +
    '\r\n',
  body,
})

/** The status code of the first response in `received`, if one arrived. */
export const statusOf = (received: string) => Number(/^HTTP\/1\.1 (\d{3}) /.exec(received)?.[1]) || undefined

/** Fails the test when `promise` has not settled within `ms`: a behaviour that never happens, said plainly. */
export const within = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)
    promise.then(
      (value) => (clearTimeout(timer), resolve(value)),
      (error: unknown) => (clearTimeout(timer), reject(error)),
    )
  })
