/**
 * What every fetch-based provider must do, checked against its fake vendor endpoint: the request it sends,
 * the kind of each failure, the settings it refuses, and that nothing of the request reaches an error text.
 * Each `<vendor>.test.ts` runs it with its vendor's cases, then adds what is its vendor's own.
 */
import { describe, expect, inject, it } from 'vitest'
import { systemClock } from '../../src/clock.js'
import type { Env } from '../../src/config/env.js'
import { isConfigError, type ProviderErrorKind } from '../../src/errors.js'
import { silentLogger } from '../../src/log.js'
import type { ProviderDefinition, SendResult, SmsMessage } from '../../src/providers/types.js'
import { callsFor, fakeUrl, script, type FakeCall, type FakeVendorName, type ScriptedAnswer } from './fake.js'
import { boundFetch, expectNothingFromRequest, failure, onWorkerd, smsMessage } from './support.js'

export interface ErrorCase {
  what: string
  answer: ScriptedAnswer
  kind: ProviderErrorKind
  /** The vendor's code as `providerCode` carries it. */
  code: string
  /** The code is missing from the vendor's table: read as a destination refusal, logged at error. */
  unrecognised?: boolean
}

/** One answer that is not the vendor's own, as something between the hook and the vendor may give it. */
export interface ForeignAnswer {
  what: string
  answer: ScriptedAnswer & { status: number; raw: string }
  kind: ProviderErrorKind
  retryAfterMs?: number
}

const html = (title: string) => `<html><head><title>${title}</title></head><body><h1>${title}</h1></body></html>`

/**
 * Answers without the vendor's own JSON (a proxy's or gateway's page), by status, content type and body: the
 * same reading for every provider (`kindOfAnswer`). A 5xx page may follow a request the vendor got (a 504 is
 * the upstream not answering in time), so it is outcome_unknown and never tried again. Alibaba Cloud reads
 * every row as outcome_unknown (test/providers/aliyun/contract.ts): its SDK transport cannot see the status.
 */
export const FOREIGN_ANSWERS: ForeignAnswer[] = [
  { what: "a proxy's HTML 502 page", answer: { status: 502, raw: html('502 Bad Gateway') }, kind: 'outcome_unknown' },
  {
    what: "a gateway's HTML 504 page",
    answer: { status: 504, raw: html('504 Gateway Time-out') },
    kind: 'outcome_unknown',
  },
  { what: 'an empty 503', answer: { status: 503, raw: '' }, kind: 'outcome_unknown' },
  {
    what: "a 500 whose JSON is not the vendor's",
    answer: { status: 500, raw: '{"error":"upstream"}', headers: { 'content-type': 'application/json' } },
    kind: 'outcome_unknown',
  },
  { what: 'an HTML 200 page', answer: { status: 200, raw: html('Welcome') }, kind: 'outcome_unknown' },
  {
    what: 'a 200 whose JSON says nothing the vendor would',
    answer: { status: 200, raw: '{"ok":true}', headers: { 'content-type': 'application/json' } },
    kind: 'outcome_unknown',
  },
  {
    what: 'a plain 429 with Retry-After',
    answer: { status: 429, raw: 'Too Many Requests', headers: { 'content-type': 'text/plain', 'retry-after': '2' } },
    kind: 'retryable',
    retryAfterMs: 2000,
  },
  {
    what: 'a plain 404',
    answer: { status: 404, raw: 'Not Found', headers: { 'content-type': 'text/plain' } },
    kind: 'configuration',
  },
  { what: "a proxy's HTML 403 page", answer: { status: 403, raw: html('403 Forbidden') }, kind: 'configuration' },
]

export interface ProviderContract {
  vendor: FakeVendorName
  definition: ProviderDefinition
  /** Settings of a working account on the fake endpoint. */
  env: Env
  /** `GOTRUE_SMS_<VENDOR>_ENDPOINT`. */
  endpointVariable: string
  /** The vendor's own endpoint, used when the variable is unset. */
  defaultEndpoint: string
  /** Every variable that must be set, in the order `parse` checks them. */
  requiredVariables: string[]
  /** The settings that, when wrong, make the vendor refuse our credentials, and the code it refuses with. */
  wrongCredentials: { env: Env; code: string }
  /** Asserts that `call` is exactly the request for `message`, and `result` the vendor's id for it. */
  expectRequest(call: FakeCall, message: SmsMessage, result: SendResult): void
  /** Asserts that `call` asks for the text to go as unicode (`message.text` is not GSM). */
  expectUnicode(call: FakeCall, message: SmsMessage): void
  errors: ErrorCase[]
  /** A pattern of the vendor's request id on its error answers, when it sends one. */
  requestId?: RegExp
}

export const providerFor = (definition: ProviderDefinition, env: Env) =>
  definition.create(definition.parse(env), { clock: systemClock, fetch: boundFetch, logger: silentLogger })

export const sendWith = (definition: ProviderDefinition, env: Env, message: SmsMessage, budgetMs = 3000) =>
  providerFor(definition, env).send(message, { signal: AbortSignal.timeout(budgetMs), deadline: Date.now() + budgetMs })

/** The variable a `ConfigError` from `parse(env)` names; undefined when `parse` accepts the settings. */
export const refusedVariable = (definition: ProviderDefinition, env: Env): string | undefined => {
  try {
    definition.parse(env)
  } catch (error) {
    if (isConfigError(error)) return error.variable
    throw error
  }
  return undefined
}

export const describeProviderContract = (contract: ProviderContract) => {
  const { vendor, definition, env } = contract
  const send = (message: SmsMessage, overrides: Env = {}, budgetMs?: number) =>
    sendWith(definition, { ...env, ...overrides }, message, budgetMs)
  const calls = (message: SmsMessage) => callsFor(vendor, message.to.e164)

  describe(`${definition.name} provider against the fake ${vendor} endpoint`, () => {
    it('sends exactly one request, as the vendor wants it, and returns the vendor id', async () => {
      const message = smsMessage()
      const result = await send(message)
      const received = await calls(message)
      expect(received).toHaveLength(1)
      expect(received[0]).toMatchObject({ accepted: true })
      expect(received[0]!.headers['user-agent']).toBe('sms-hook')
      contract.expectRequest(received[0]!, message, result)
    })

    it('asks for unicode when the text is not in the GSM alphabet', async () => {
      const message = smsMessage({ text: '您的验证码是 123456，5 分钟内有效', otp: '123456' })
      await send(message)
      const [call] = await calls(message)
      expect(call).toMatchObject({ accepted: true })
      contract.expectUnicode(call!, message)
    })

    for (const { what, answer, kind, code, unrecognised = false } of contract.errors) {
      const reading = unrecognised ? `${kind}, unrecognised` : kind
      it(`reads ${what} (${code}) as ${reading}, with the vendor's code and nothing of the request`, async () => {
        const message = smsMessage()
        await script(vendor, message.to.e164, answer)
        const error = await failure(send(message))
        expect(error.kind).toBe(kind)
        expect(error.unrecognised).toBe(unrecognised)
        expect(error.providerCode).toBe(code)
        if (contract.requestId) expect(error.requestId).toMatch(contract.requestId)
        expectNothingFromRequest(error.message, message)
        expect(await calls(message)).toHaveLength(1)
      })
    }

    it(`reads refused credentials (${contract.wrongCredentials.code}) as configuration`, async () => {
      const message = smsMessage()
      const error = await failure(send(message, contract.wrongCredentials.env))
      expect(error).toMatchObject({ kind: 'configuration', providerCode: contract.wrongCredentials.code })
      const [call] = await calls(message)
      expect(call).toMatchObject({ accepted: false, refusedWith: contract.wrongCredentials.code })
      expectNothingFromRequest(error.message, message)
    })

    for (const { what, answer, kind, retryAfterMs } of FOREIGN_ANSWERS) {
      it(`reads ${what} as ${kind}, without a vendor code`, async () => {
        const message = smsMessage()
        await script(vendor, message.to.e164, answer)
        const error = await failure(send(message))
        expect(error).toMatchObject({ kind, providerCode: undefined, unrecognised: false })
        expect(error.message).toContain(`HTTP ${answer.status}`)
        if (retryAfterMs !== undefined) expect(error.retryAfterMs).toBe(retryAfterMs)
        expect(await calls(message)).toHaveLength(1)
      })
    }

    it('reads an answer cut in the middle as outcome_unknown', async () => {
      const message = smsMessage()
      await script(vendor, message.to.e164, { cut: true })
      const error = await failure(send(message))
      expect(error.kind).toBe('outcome_unknown')
      expectNothingFromRequest(error.message, message)
    })

    it('reads a vendor that never answers as outcome_unknown once the signal aborts', async () => {
      const message = smsMessage()
      await script(vendor, message.to.e164, { hang: true })
      const error = await failure(send(message, {}, 300))
      expect(error.kind).toBe('outcome_unknown')
      expect(await calls(message)).toHaveLength(1)
    })

    it(`reads a refused connection as ${onWorkerd ? 'outcome_unknown on workerd, which cannot tell it from a reset' : 'retryable: nothing was sent'}`, async () => {
      const message = smsMessage()
      const error = await failure(send(message, { [contract.endpointVariable]: inject('networkFaults').refused }))
      expect(error.kind).toBe(onWorkerd ? 'outcome_unknown' : 'retryable')
      expectNothingFromRequest(error.message, message)
    })
  })

  describe(`${definition.name} settings`, () => {
    it(`uses ${contract.defaultEndpoint} unless ${contract.endpointVariable} is set`, () => {
      const { [contract.endpointVariable]: _endpoint, ...rest } = env
      expect(definition.parse(rest)).toMatchObject({ endpoint: contract.defaultEndpoint })
      expect(definition.parse(env)).toMatchObject({ endpoint: fakeUrl(vendor) })
    })

    for (const variable of contract.requiredVariables) {
      it(`names ${variable} when it is missing or blank`, () => {
        expect(refusedVariable(definition, { ...env, [variable]: undefined })).toBe(variable)
        expect(refusedVariable(definition, { ...env, [variable]: '  ' })).toBe(variable)
      })
    }

    it(`names ${contract.endpointVariable} when it has a path or is not a URL`, () => {
      expect(refusedVariable(definition, { ...env, [contract.endpointVariable]: `${fakeUrl(vendor)}/v1` })).toBe(
        contract.endpointVariable,
      )
      expect(refusedVariable(definition, { ...env, [contract.endpointVariable]: 'api.example.com' })).toBe(
        contract.endpointVariable,
      )
    })
  })
}
