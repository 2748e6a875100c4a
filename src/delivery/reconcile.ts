/**
 * Reconciliation: a send whose outcome the hook could not tell (`unknown`: a timeout after the request went out)
 * is asked about, at the vendor, until it has a final status or its time is up (docs/receipts.md). Only
 * providers with `query` can be asked (Alibaba Cloud's QuerySendDetails); the others' receipts tell.
 */
import type { Clock } from '../clock.js'
import type { Config } from '../config/index.js'
import type { HookObserver } from '../hook/events.js'
import { normalisePhone } from '../phone/e164.js'
import type { Provider } from '../providers/types.js'
import { createNumberSeal, numberKeyMaterial, type NumberSeal } from './number-key.js'
import { isFinal, type DeliveryRecord, type DeliveryStore } from './types.js'

/**
 * When a send is asked about, counted from the hand-off: a receipt usually comes within seconds, so the first
 * question waits for the vendor to have one (Aliyun lists a send within a few seconds and its receipt within
 * about 30), then later and later for a carrier that is slow; past the last step, every hour.
 */
const STEPS_MS = [45_000, 120_000, 300_000, 900_000] as const
const EVERY_MS = 3_600_000

/** The first question about a send made at `sentAt`: what the handler sets as `reconcileAt` of an unknown outcome. */
export const firstReconcileAt = (sentAt: number): number => sentAt + STEPS_MS[0]

/**
 * The next question about a send made at `sentAt`, after one asked at `now`: the first step still ahead, then
 * whole hours after the last step. Undefined past `sentAt + ttlMs`: the send is forgotten by then (the vendor
 * keeps it longer, Aliyun 30 days, but nothing here would read the answer).
 */
export const nextReconcileAt = (sentAt: number, now: number, ttlMs: number): number | undefined => {
  const age = now - sentAt
  const last = STEPS_MS[STEPS_MS.length - 1]!
  const offset = STEPS_MS.find((step) => step > age) ?? last + (Math.floor((age - last) / EVERY_MS) + 1) * EVERY_MS
  return offset > ttlMs ? undefined : sentAt + offset
}

/** How often the Node server looks for sends due (a Worker's cron, every minute, is as often as it can). */
export const RECONCILE_EVERY_MS = 15_000

/** How long one question may take: a vendor that does not answer is asked again at the next step. */
export const RECONCILE_TIMEOUT_MS = 5000
/** Sends looked at per run; the rest are due still, and the next run takes them. */
const DEFAULT_BATCH = 50
/** Questions in flight at once: a batch of slow answers does not take a whole batch of timeouts. */
const CONCURRENCY = 4

export interface ReconcilerDeps {
  deliveries: DeliveryStore
  /** The providers as built (`buildProviders`), by name: a record names the provider that took it. */
  providers: Readonly<Record<string, Provider>>
  clock: Clock
  observe: HookObserver
  /** `SMS_HOOK_RECEIPT_TTL`: how long records are kept, which bounds how long a send is asked about. */
  ttlMs: number
  /** Opens a record's `sealed` number (`createNumberSeal` of the deployment's number key material). */
  seal: Pick<NumberSeal, 'open'>
  /** Sends looked at per run, 50 by default. */
  batch?: number
  /** How long one question may take, 5 s by default. */
  timeoutMs?: number
}

export interface Reconciler {
  /**
   * Looks at the sends due (`DeliveryStore.due`) and resolves with how many it looked at. Never rejects: what
   * fails is reported (`delivery_error`, phase `reconcile`) and tried again at the next step. A run while one is
   * still going resolves 0 at once, so a timer may call it as often as it likes.
   */
  run(): Promise<number>
  /** Resolves when no run is going (at once when none is): what a shutdown waits for before closing the state. */
  idle(): Promise<void>
}

/**
 * What each due send gets: its next question is scheduled first (`nextReconcileAt`), so a replica that reads
 * the same due list meanwhile leaves it alone and a run cut short loses no schedule; then the vendor is asked
 * with the number opened from `sealed`. A final answer is applied (`deliveries.apply`, which drops the schedule
 * and the sealed number) and reported as a `receipt` event with `via: 'reconcile'`; no word yet leaves the
 * schedule set. A send that cannot be asked (its provider has no `query`, or is no longer configured; no sealed
 * number; a number that does not open, after a key change) or is past its time is not scheduled again.
 */
export const createReconciler = (deps: ReconcilerDeps): Reconciler => {
  const { deliveries, providers, clock, observe, ttlMs, seal } = deps
  const batch = deps.batch ?? DEFAULT_BATCH
  const timeoutMs = deps.timeoutMs ?? RECONCILE_TIMEOUT_MS
  let running: Promise<number> | undefined

  const fail = (error: unknown, key?: string) =>
    observe({ type: 'delivery_error', phase: 'reconcile', error, ...(key === undefined ? {} : { key }) })

  const reconcile = async (record: DeliveryRecord, now: number) => {
    const provider = Object.hasOwn(providers, record.provider) ? providers[record.provider] : undefined
    const { sealed } = record
    if (
      provider?.query === undefined ||
      sealed === undefined ||
      isFinal(record.status) ||
      now - record.sentAt >= ttlMs
    ) {
      await deliveries.reschedule(record.reference, undefined)
      return
    }
    // Undefined after the last question the TTL leaves room for.
    await deliveries.reschedule(record.reference, nextReconcileAt(record.sentAt, now, ttlMs))
    let to
    try {
      to = normalisePhone(await seal.open(sealed), undefined)
      if (to === undefined) throw new Error('a sealed number that is no longer a number')
    } catch (error) {
      await deliveries.reschedule(record.reference, undefined)
      fail(error, record.reference)
      return
    }
    let update
    try {
      update = await withTimeout(timeoutMs, (signal) => provider.query!(record, { signal, to }))
    } catch (error) {
      fail(error, record.reference)
      return
    }
    if (update === undefined) return
    const result = await deliveries.apply(update, ttlMs)
    if (!result.matched) {
      // Forgotten between `due` and now (its TTL, or the store's bound).
      observe({
        type: 'receipt',
        provider: update.provider,
        via: 'reconcile',
        status: 'unmatched',
        changed: false,
        reason: 'the send is no longer kept',
      })
      return
    }
    observe({
      type: 'receipt',
      provider: update.provider,
      via: 'reconcile',
      status: result.record.status,
      changed: result.changed,
      record: result.record,
      ...(update.vendorCode === undefined ? {} : { vendorCode: update.vendorCode }),
    })
  }

  const runOnce = async () => {
    const now = clock.now()
    let due: DeliveryRecord[]
    try {
      due = await deliveries.due(now, batch)
    } catch (error) {
      fail(error)
      return 0
    }
    let at = 0
    const worker = async () => {
      while (at < due.length) {
        const record = due[at++]!
        try {
          await reconcile(record, now)
        } catch (error) {
          // The store failed: the send stays due, or at its next step, and the next run tries again.
          fail(error, record.reference)
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, due.length) }, worker))
    return due.length
  }

  return {
    async run() {
      if (running !== undefined) return 0
      running = runOnce()
      try {
        return await running
      } finally {
        running = undefined
      }
    },
    async idle() {
      await running?.catch(() => undefined)
    },
  }
}

/**
 * `work` with a signal aborted after `ms`, and given up then even if it ignores the signal (the Alibaba Cloud SDK
 * cannot be aborted; it has its own timeouts).
 */
const withTimeout = async <T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> => {
  const controller = new AbortController()
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new Error(`no answer within ${ms} ms`)
      error.name = 'TimeoutError'
      controller.abort(error)
      reject(error)
    }, ms)
  })
  try {
    return await Promise.race([work(controller.signal), timeout])
  } finally {
    if (timer !== undefined) clearTimeout(timer)
  }
}

/**
 * The reconciler of a deployment, for the runtime entries (Node's timer, the Worker's cron): undefined when
 * there is nothing to reconcile (SMS_HOOK_RECEIPTS=off, no delivery store, or no configured provider that can
 * be asked). Its seal opens what the hook handler sealed: both derive it from `numberKeyMaterial`.
 */
export const reconcilerFor = (
  config: Pick<Config, 'delivery' | 'hook'>,
  deps: Omit<ReconcilerDeps, 'deliveries' | 'ttlMs' | 'seal'> & { deliveries: DeliveryStore | undefined },
): Reconciler | undefined => {
  const { deliveries, ...rest } = deps
  if (!config.delivery.enabled || deliveries === undefined) return undefined
  if (!Object.values(deps.providers).some((provider) => provider.query !== undefined)) return undefined
  return createReconciler({
    ...rest,
    deliveries,
    ttlMs: config.delivery.ttlMs,
    seal: createNumberSeal(numberKeyMaterial(config.delivery.adminToken, config.hook.secrets)),
  })
}
