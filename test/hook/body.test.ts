import { describe, expect, it } from 'vitest'
import { makeApp } from '../support/app.js'
import { signupPayload } from '../support/payloads.js'
import { gotrueHeaders } from '../support/sign.js'

/** A signed request whose body stream fails after its first bytes, with its signal aborted or not. */
const failingRequest = (aborted: boolean) => {
  const { body } = signupPayload()
  const controller = new AbortController()
  let sent = false
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (!sent) {
        sent = true
        c.enqueue(new TextEncoder().encode(body.slice(0, 10)))
        return
      }
      if (aborted) controller.abort()
      c.error(new Error('connection lost'))
    },
  })
  return new Request('http://hook.test/send-sms', {
    method: 'POST',
    headers: gotrueHeaders(body),
    body: stream,
    signal: controller.signal,
    duplex: 'half',
  } as RequestInit)
}

describe('reading the body', () => {
  it('takes a body that fails as the runtime aborts the request for the client that left: one warn line', async () => {
    const { app, logs } = makeApp({ remoteAddress: '192.0.2.1' })
    const response = await app.fetch(failingRequest(true))
    expect(response.status).toBe(400)
    expect(logs).toEqual([
      {
        level: 'warn',
        time: expect.any(String),
        msg: 'request body incomplete: the connection closed',
        path: '/send-sms',
        remote_address: '192.0.2.1',
      },
    ])
  })

  it('still reports a failure of the body that is not a closed connection as an error', async () => {
    const { app, logs } = makeApp()
    const response = await app.fetch(failingRequest(false))
    expect(response.status).toBe(500)
    expect(logs).toMatchObject([{ level: 'error', msg: 'unhandled error' }])
  })
})
