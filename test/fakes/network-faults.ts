/**
 * Real sockets on 127.0.0.1 that fail the way networks do, for the one reading of "no answer" that every
 * fetch-based provider shares (src/providers/http.ts). Each fault has its own port, so a test picks a fault by
 * URL alone, from any runtime.
 */
import { createServer as createHttpsServer } from 'node:https'
import { createServer as createTcpServer, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { SELF_SIGNED } from './self-signed-cert.js'

export interface NetworkFaults {
  /** Nothing listens on this port. */
  refused: string
  /** Accepts the connection and resets it at once, before reading anything. */
  resetOnConnect: string
  /** Reads the whole request, then resets the connection without a word. */
  resetAfterRequest: string
  /** Reads the request, sends the headers and half the body it announced, then closes. */
  cutAnswer: string
  /** Reads the request and never answers. */
  hang: string
  /** HTTPS with a self-signed certificate that no client trusts; it would answer 201 to anyone who went on. */
  selfSignedTls: string
}

export const startNetworkFaults = async (): Promise<{ urls: NetworkFaults; close(): Promise<void> }> => {
  const servers: Server[] = []
  const sockets = new Set<Socket>()
  const listen = async (server: Server, scheme = 'http') => {
    servers.push(server)
    server.on('connection', (socket: Socket) => {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`
  }
  const afterRequest = (then: (socket: Socket) => void) =>
    createTcpServer((socket) => {
      let received = ''
      socket.on('error', () => {})
      socket.on('data', (chunk) => {
        received += chunk.toString('latin1')
        if (requestComplete(received)) then(socket)
      })
    })

  const refused = await freePort()
  const urls: NetworkFaults = {
    refused: `http://127.0.0.1:${refused}`,
    resetOnConnect: await listen(
      createTcpServer((socket) => {
        socket.on('error', () => {})
        socket.resetAndDestroy()
      }),
    ),
    resetAfterRequest: await listen(afterRequest((socket) => socket.resetAndDestroy())),
    cutAnswer: await listen(
      afterRequest((socket) => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 64\r\n\r\n{"sid":"SM')
        setTimeout(() => socket.destroy(), 20)
      }),
    ),
    hang: await listen(afterRequest(() => {})),
    selfSignedTls: await listen(
      createHttpsServer({ key: SELF_SIGNED.key, cert: SELF_SIGNED.cert }, (_req, res) => {
        res.writeHead(201, { 'content-type': 'application/json' }).end('{"sid":"SMnever"}')
      }),
      'https',
    ),
  }
  return {
    urls,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))))
    },
  }
}

/** Headers and as much body as Content-Length announced (the providers never send chunked bodies). */
const requestComplete = (received: string) => {
  const end = received.indexOf('\r\n\r\n')
  if (end < 0) return false
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(received.slice(0, end))
  return received.length - end - 4 >= Number(length?.[1] ?? 0)
}

/** A port that was free a moment ago: bound, read and released. */
const freePort = async () => {
  const server = createTcpServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}
