import { sha256Hex } from '../digest.js'
import { withTimeout } from '../deadline.js'
import { isStoreError } from '../errors.js'
import { MESSAGES, OUTCOME_UNKNOWN, refused, type Outcome, type Refused } from '../outcome.js'
import type { IdempotencyStore } from '../store/types.js'
import type { HookPayload } from './parse.js'

/** A repeat out of time while the first attempt had not yet called the provider: nothing was sent. */
const NOTHING_SENT_YET = refused(503, 'busy', MESSAGES.busy)

/** How long a repeat past its deadline asks whether the owner marked the key; no answer counts as marked. */
const MARKED_CHECK_MS = 100

const markedNow = async (store: IdempotencyStore, key: string): Promise<boolean> => {
  if (store.markedSending === undefined) return true
  try {
    return await withTimeout(store.markedSending(key), MARKED_CHECK_MS, () => new Error('no answer'))
  } catch {
    return true
  }
}

/** Completed keys are remembered at least this long: far beyond GoTrue's 5 s of retries. */
export const IDEMPOTENCY_TTL_MS = 10 * 60 * 1000

/**
 * The key that makes GoTrue's retries one delivery. GoTrue gives every attempt a new `webhook-id` but the same
 * body, so the key is `metadata.uuid` when present (v2.187+), else the SHA-256 of the raw body.
 */
export const idempotencyKey = async (
  payload: Pick<HookPayload, 'uuid'>,
  body: Uint8Array<ArrayBuffer>,
): Promise<string> => payload.uuid ?? sha256Hex(body)

export interface OnceOptions {
  /** How long a claim holds if its owner disappears. */
  leaseMs: number
  ttlMs?: number
  /**
   * Aborts waiting for another caller's delivery (the hook's own deadline). A factory, because a signal is costly
   * to make on Node and only a repeat that finds its key in flight needs one.
   */
  waitSignal: () => AbortSignal
  /**
   * Called when recording an outcome fails after sending. The answer still reflects what happened to the SMS
   * (a delivered code must reach GoTrue as success, or GoTrue would drop the OTP the user is about to receive).
   */
  onRecordError?: (error: unknown) => void
  /**
   * Runs once the key is claimed, before it is marked sending (the SMS-pumping guard), so a repeat answered from
   * the stored outcome never runs it again. A refusal it returns is the outcome, with nothing sent: stored for
   * replays when `final`, otherwise the key is released.
   */
  check?: () => Promise<Refused | undefined>
  /**
   * Settles when the caller can wait no longer (the hook's deadline). Recording an outcome that has not finished
   * by then goes on unawaited, and still reports a failure to `onRecordError`.
   */
  answerBy?: Promise<unknown>
  /**
   * Handed the recording of a late outcome (see `Sent`), which goes on after `once` has answered: a runtime that
   * ends work with the response (Workers) must keep it alive.
   */
  onLate?: (recording: Promise<void>) => void
}

export type OnceResult = Outcome & { replayed: boolean }

/**
 * What one send did. `late` is set when the answer is due while the provider is still at work: `outcome` is then
 * the answer for now (the SMS may have gone), and `late` settles with what the provider ended with, which is the
 * outcome recorded for the key. It never rejects.
 */
export interface Sent {
  outcome: Outcome
  late?: Promise<Outcome>
}

/**
 * Runs `send` at most once per key across every caller sharing `store`:
 * - the first caller runs `check`, then sends; a delivery, a failure after which the SMS may have gone, or a
 *   `final` refusal is stored and replayed; a failure with nothing sent is released, so a repeat may send;
 * - a repeat of a stored outcome gets it back without sending;
 * - a repeat arriving while the first is in flight waits for it, and answers from it, or sends itself if the
 *   first released the key, or gives up with `in_progress` when its own deadline passes first;
 * - the owner marks its claim as sending right before `send`; a repeat that finds the owner died after that
 *   never sends: it records and answers `outcome_unknown` (504), which later repeats replay.
 */
export const once = async (
  store: IdempotencyStore,
  key: string,
  options: OnceOptions,
  send: () => Promise<Sent>,
): Promise<OnceResult> => {
  const ttlMs = options.ttlMs ?? IDEMPOTENCY_TTL_MS
  const settle = async (recording: Promise<unknown>) => {
    const recorded = recording.then(
      () => undefined,
      (error: unknown) => options.onRecordError?.(error),
    )
    await (options.answerBy ? Promise.race([recorded, options.answerBy]) : recorded)
  }
  const store_ = (token: string, outcome: Outcome): Promise<unknown> =>
    outcome.ok || outcome.mayHaveSent || outcome.final
      ? store.complete(key, token, outcome, ttlMs)
      : store.release(key, token)
  const record = (token: string, outcome: Outcome) => settle(store_(token, outcome))

  for (;;) {
    const claim = await store.claim(key, options.leaseMs)
    if (claim.status === 'done') return { ...claim.outcome, replayed: true }
    if (claim.status === 'abandoned') {
      const outcome = OUTCOME_UNKNOWN
      // Unrecorded, the mark stays: the next repeat is handed the key as abandoned again, and refused again.
      await record(claim.token, outcome)
      return { ...outcome, replayed: false }
    }
    if (claim.status === 'claimed') {
      const outcome = await ownerStep(claim.token)
      if (outcome !== undefined) return { ...outcome, replayed: false }
    }
    const signal = options.waitSignal()
    try {
      const settled = await store.wait(key, signal)
      if (settled.status === 'done') return { ...settled.outcome, replayed: true }
    } catch (error) {
      if (!signal.aborted) throw error
      // Out of time while the owner holds the key. Only an owner that marked it may have called the provider;
      // one that has not, on the same deadline as this call (both count from GoTrue's metadata.time), no longer
      // will, so "your code is on its way" would be a code that never comes (docs/gotrue-contract.md).
      if (!(await markedNow(store, key))) return { ...NOTHING_SENT_YET, replayed: false }
      return { ...refused(504, 'in_progress', MESSAGES.inProgress, true), replayed: false }
    }
  }

  /** The owner's part: check, mark, send, record. Undefined when the lease was lost before the mark. */
  async function ownerStep(token: string): Promise<Outcome | undefined> {
    let outcome: Outcome | undefined
    try {
      outcome = await options.check?.()
    } catch (error) {
      await settle(store.release(key, token))
      throw error
    }
    // A claim whose lease is already lost by the time it is marked sends nothing: its caller waits like a repeat.
    if (outcome === undefined) {
      let marked: boolean
      try {
        marked = await store.markSending(key, token)
      } catch (error) {
        // A refusal (full, read-only, not replicated) is an answer: the mark did not hold, nothing will be sent,
        // and the key is given back so GoTrue's retry may send. Silence is left as it is: the mark may have
        // landed, and the caller may send without the store (SMS_HOOK_STATE_DOWN=send).
        if (isStoreError(error)) await settle(store.release(key, token))
        throw error
      }
      if (!marked) return undefined
      let sent: Sent
      try {
        sent = await send()
      } catch (error) {
        await settle(store.release(key, token))
        throw error
      }
      if (sent.late !== undefined) {
        // The claim stays marked sending until the provider's own end: a repeat meanwhile waits, and is answered
        // as the SMS may have gone, never sent again. No lease is renewed: GoTrue's retries all come within its
        // 5 s, inside the lease; the outcome is recorded by the token, which outlives the lease.
        const recording = sent.late.then((late) => store_(token, late))
        options.onLate?.(
          recording.then(
            () => undefined,
            (error: unknown) => options.onRecordError?.(error),
          ),
        )
        return sent.outcome
      }
      outcome = sent.outcome
    }
    // While recording, the claim's lease still protects the key; the outcome itself is what GoTrue needs.
    await record(token, outcome)
    return outcome
  }
}
