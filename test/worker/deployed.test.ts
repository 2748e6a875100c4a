/**
 * The Worker as `wrangler.toml` deploys it: the runtime itself calls the default export with the bindings the
 * file declares (the Durable Objects by name and class), plus the test secret set in vitest.config.ts.
 */
import { exports } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import type { InboxEntry } from '../../src/dev/inbox.js'
import { signupPayload } from '../support/payloads.js'
import { INBOX_TOKEN, signedPost } from '../support/sign.js'

const worker = exports.default

describe('the deployed Worker', () => {
  it('answers a GoTrue call once, however often it is repeated, and keeps the code in the inbox', async () => {
    const payload = signupPayload()
    const url = 'https://sms-hook.example/send-sms'
    const answers = await Promise.all([0, 1, 2].map(() => worker.fetch(url, signedPost(payload.body))))
    expect(await Promise.all(answers.map((r) => r.text()))).toEqual(['{}', '{}', '{}'])

    const inbox = await worker.fetch('https://sms-hook.example/dev/inbox.json', {
      headers: { authorization: `Bearer ${INBOX_TOKEN}` },
    })
    const entries = ((await inbox.json()) as InboxEntry[]).filter((e) => e.id === payload.uuid)
    expect(entries).toEqual([expect.objectContaining({ to: payload.phone, otp: payload.otp })])
  })

  it('refuses an unsigned call', async () => {
    const response = await worker.fetch('https://sms-hook.example/send-sms', {
      method: 'POST',
      body: signupPayload().body,
    })
    expect(response.status).toBe(401)
  })
})
