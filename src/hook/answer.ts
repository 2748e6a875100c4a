import type { Context } from 'hono'
import { errorBody } from '../errors.js'
import type { Outcome } from '../outcome.js'
import type { UnknownOutcomePolicy } from './config.js'

/**
 * Whether a failure is answered as success: the SMS may have gone (`mayHaveSent`), and GoTrue stores the OTP only
 * on success, so an error would make the code that may still arrive one GoTrue rejects
 * (docs/gotrue-contract.md). GoTrue's own resend window then governs a new code.
 */
export const answeredAsSent = (outcome: Outcome, unknownOutcome: UnknownOutcomePolicy): boolean =>
  !outcome.ok && outcome.mayHaveSent && unknownOutcome === 'success'

/**
 * GoTrue's reading of our answer (docs/gotrue-contract.md):
 * - success is 200 with a JSON body and a JSON content type; `{}` is enough;
 * - a failure is `{"error":{"http_code":N,"message":"..."}}`. GoTrue v2.187+, the versions that send
 *   `metadata`, pass N and the message to the end user when it comes with HTTP 200. Older versions read any 200
 *   as success, so without `metadata` the same body goes with status N instead.
 *
 * No `retry-after` header is ever set: with it GoTrue would retry at once inside the same 5 s, while the hook
 * already retries and fails over on its own.
 */
export const answer = (
  c: Context,
  outcome: Outcome,
  hasMetadata: boolean,
  unknownOutcome: UnknownOutcomePolicy = 'success',
): Response => {
  if (outcome.ok || answeredAsSent(outcome, unknownOutcome)) return c.json({}, 200)
  return c.json(errorBody(outcome.status, outcome.message), hasMetadata ? 200 : outcome.status)
}
