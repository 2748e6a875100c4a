/**
 * The result of one hook call, as stored for idempotent replays and turned into GoTrue's answer.
 * Plain JSON so that every idempotency store (memory, Redis, Durable Object) can keep it.
 */
export type Outcome = Delivered | Refused

export interface Delivered {
  ok: true
  provider: string
  messageId: string
}

/** HTTP codes the end user may see, as docs/gotrue-contract.md ("What sms-hook answers") describes them. */
export type RefusalStatus = 400 | 413 | 401 | 429 | 500 | 503 | 504

export interface Refused {
  ok: false
  status: RefusalStatus
  /** Stable machine code for logs and tests (`invalid_phone`, `rate_limited`, ...). */
  code: string
  /** Short, safe to show to the end user: GoTrue v2.187+ passes it through. */
  message: string
  /** True when the SMS may have left (timeout after sending): such an outcome is never released for a resend. */
  mayHaveSent: boolean
  /**
   * Kept for replays although nothing was sent: the SMS-pumping guard's refusals, so that GoTrue's retry of a
   * refused call is refused alike without being counted again. Other failures with nothing sent are released.
   */
  final?: boolean
}

export const refused = (status: RefusalStatus, code: string, message: string, mayHaveSent = false): Refused => ({
  ok: false,
  status,
  code,
  message,
  mayHaveSent,
})

/** The messages end users see, kept together so docs/gotrue-contract.md's answer table has one place to match. */
export const MESSAGES = {
  unauthorized: 'Invalid webhook signature',
  payloadTooLarge: 'Payload too large',
  invalidPayload: 'Invalid SMS hook payload',
  invalidPhone: 'Invalid phone number',
  recipientInvalid: 'This phone number cannot receive SMS',
  noRoute: 'This phone number cannot receive SMS here',
  rateLimited: 'Too many SMS sent to this number. Please wait a few minutes before requesting a new code.',
  configuration: 'SMS sending is not configured correctly. Please contact support.',
  unavailable: 'SMS service is temporarily unavailable. Please try again shortly.',
  busy: 'SMS service is busy. Please try again in a moment.',
  outcomeUnknown: 'The SMS may be delayed. Please wait a minute before requesting a new code.',
  inProgress: 'Your code is still being sent. Please wait a minute before requesting a new code.',
  countryNotAllowed: 'SMS codes cannot be sent to phone numbers of this country.',
  numberBlocked: 'SMS codes cannot be sent to this phone number.',
  tooManyRequests: 'Too many codes were requested. Please wait a while before requesting a new one.',
  internal: 'Internal error',
} as const

/** The SMS may have gone (a timeout after the request left, an owner that died while sending): never sent again. */
export const OUTCOME_UNKNOWN: Refused = refused(504, 'outcome_unknown', MESSAGES.outcomeUnknown, true)
