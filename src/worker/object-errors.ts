import { isStateUnavailableError, isStoreError, StateUnavailableError, StoreError } from '../errors.js'

/**
 * A failed call to a Durable Object, in the store's terms (docs/shared-state.md): the same rule as for Redis.
 * Only silence follows SMS_HOOK_STATE_DOWN: the runtime marks an error `retryable` when the object was reset
 * or the connection to it lost (a deploy, a machine moving), and the call may not have run. Everything else is
 * an answer that refuses: `overloaded` (the object is queueing too much work, Redis's BUSY) and an error the
 * object itself threw (storage full, a bug) are store errors, 503 with nothing sent.
 */
const fromObjectError = (error: unknown): Error => {
  if (isStateUnavailableError(error) || isStoreError(error)) return error
  const flags = (typeof error === 'object' && error !== null ? error : {}) as {
    retryable?: unknown
    overloaded?: unknown
  }
  const message = error instanceof Error ? error.message : String(error)
  if (flags.overloaded === true)
    return new StoreError('busy', `durable object overloaded: ${message}`, { cause: error })
  if (flags.retryable === true) return new StateUnavailableError(`durable object: ${message}`, { cause: error })
  return new StoreError('other', `durable object: ${message}`, { cause: error })
}

/** Runs a Durable Object call and rethrows its failure as `fromObjectError` reads it. */
export const objectCall = async <T>(call: () => Promise<T>): Promise<T> => {
  try {
    return await call()
  } catch (error) {
    throw fromObjectError(error)
  }
}
