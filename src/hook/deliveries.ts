/**
 * The hook's two uses of the delivery records (docs/receipts.md): before sending, a resend goes another way
 * (`order`); after sending, the send is recorded for its receipts, the lookup and the next resend (`record`).
 * Neither may cost GoTrue its answer: the read before sending is bounded and skipped on failure, the write after
 * sending runs past the answer.
 */
import type { Clock } from '../clock.js'
import type { DeliveryConfig } from '../delivery/config.js'
import { firstReconcileAt } from '../delivery/reconcile.js'
import type { DeliveryRecord, DeliveryStatus, DeliveryStore } from '../delivery/types.js'
import { maskPhone } from '../log.js'
import type { Outcome } from '../outcome.js'
import type { PhoneNumber } from '../phone/e164.js'
import type { Provider } from '../providers/types.js'

export interface DeliveryTrackingDeps {
  config: DeliveryConfig
  deliveries: DeliveryStore
  clock: Clock
  /** Every provider the routes name, by name: whether the provider of an unknown outcome can be asked (`query`). */
  providers: Readonly<Record<string, Provider>>
  /**
   * Seals the number for the one reader that needs it in clear, a reconciliation asking the vendor
   * (`delivery/number-key.ts`); unset, unknown outcomes wait for a receipt.
   */
  seal?: (e164: string) => Promise<string>
}

/** One send, as the handler knows it once the provider answered. */
export interface SendRecord {
  reference: string
  to: PhoneNumber
  /** The destination's keyed hash. */
  number: string
  provider: string
  outcome: Outcome
  /** The outcome of a provider call that outlived the answer: a refusal then means the send failed after all. */
  late?: boolean
}

export interface DeliveryTracking {
  /**
   * The route as a resend tries it: when the last send to `number` (another call than `reference`) was within
   * SMS_HOOK_RESEND_WINDOW and is not known to be delivered, its provider goes last. `read` bounds the lookup by
   * the call's deadline; a failure leaves the route as it is and is reported through `onError`.
   */
  order(
    route: readonly Provider[],
    call: { number: string; reference: string },
    read: <T>(operation: Promise<T>) => Promise<T>,
    onError: (error: unknown) => void,
  ): Promise<{ route: readonly Provider[]; rotated?: { from: string; to: string } }>
  /** Records a send (or, for a late outcome, what it became); undefined when there is nothing to record. */
  record(send: SendRecord): Promise<void> | undefined
}

export const createDeliveryTracking = (deps: DeliveryTrackingDeps): DeliveryTracking => {
  const { config, deliveries, clock } = deps
  return {
    async order(route, call, read, onError) {
      if (!config.resendRotate || route.length < 2) return { route }
      let last: DeliveryRecord | undefined
      try {
        last = (await read(deliveries.forNumber(call.number, 2))).find((r) => r.reference !== call.reference)
      } catch (error) {
        onError(error)
        return { route }
      }
      if (last === undefined || last.status === 'delivered') return { route }
      if (clock.now() - last.sentAt > config.resendWindowMs) return { route }
      const previous = route.findIndex((provider) => provider.name === last.provider)
      if (previous < 0) return { route }
      const rotated = [...route.slice(0, previous), ...route.slice(previous + 1), route[previous]!]
      return { route: rotated, rotated: { from: last.provider, to: rotated[0]!.name } }
    },

    record({ reference, to, number, provider, outcome, late = false }) {
      const status = statusOf(outcome, late)
      if (status === undefined) return undefined
      const now = clock.now()
      const record: DeliveryRecord = {
        reference,
        provider: outcome.ok ? outcome.provider : provider,
        status,
        sentAt: now,
        statusAt: now,
        to: maskPhone(to.e164),
        number,
        country: to.callingCode,
      }
      if (outcome.ok) record.vendorMessageId = outcome.messageId
      else if (status === 'failed') record.vendorCode = outcome.code
      const queried = status === 'unknown' && deps.seal !== undefined && deps.providers[provider]?.query !== undefined
      if (!queried) return deliveries.record(record, config.ttlMs)
      return deps.seal!(to.e164).then((sealed) =>
        deliveries.record({ ...record, sealed, reconcileAt: firstReconcileAt(now) }, config.ttlMs),
      )
    },
  }
}

/**
 * What an outcome says of the message: taken by the vendor (`accepted`), maybe on its way (`unknown`), or,
 * for a late outcome only, refused after all (`failed`). A refusal before sending keeps no record: no SMS, no
 * receipt, and no resend rule to apply.
 */
const statusOf = (outcome: Outcome, late: boolean): DeliveryStatus | undefined => {
  if (outcome.ok) return 'accepted'
  if (outcome.mayHaveSent) return 'unknown'
  return late ? 'failed' : undefined
}
