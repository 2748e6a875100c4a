/** Builds the real app (createApp) with test dependencies: a log sink, a recording provider, a chosen clock. */
import { createApp } from '../../src/app.js'
import { systemClock, type Clock } from '../../src/clock.js'
import { parseConfig, type Env } from '../../src/config/index.js'
import { MemoryInbox } from '../../src/dev/inbox.js'
import { MemoryDeliveryStore } from '../../src/delivery/memory.js'
import type { NumberKey } from '../../src/delivery/number-key.js'
import type { DeliveryStore } from '../../src/delivery/types.js'
import { receiptUrls } from '../../src/delivery/urls.js'
import type { HookEvent, HookObserver } from '../../src/hook/events.js'
import { createJsonLogger } from '../../src/log.js'
import { buildProviders } from '../../src/providers/registry.js'
import type { Provider, ProviderDefinition, SendOptions, SendResult, SmsMessage } from '../../src/providers/types.js'
import { MemoryRateCounters } from '../../src/store/memory-counters.js'
import { MemoryIdempotencyStore } from '../../src/store/memory.js'
import type { IdempotencyStore, RateCounters } from '../../src/store/types.js'
import { SECRET } from './sign.js'

export type LogLine = { level: string; msg: string } & Record<string, unknown>

/** A provider double that records every message and behaves as each test scripts it. */
export class ScriptedProvider implements Provider {
  readonly calls: { message: SmsMessage; options: SendOptions }[] = []
  constructor(
    readonly script: (message: SmsMessage, options: SendOptions, call: number) => Promise<SendResult> = async (m) => ({
      messageId: `msg-${m.reference}`,
    }),
    readonly name = 'scripted',
  ) {}

  send(message: SmsMessage, options: SendOptions) {
    this.calls.push({ message, options })
    return this.script(message, options, this.calls.length)
  }
}

export interface MakeAppOptions {
  env?: Env
  /** The one provider of an app without `SMS_HOOK_ROUTES`, in place of `GOTRUE_SMS_PROVIDER`'s. */
  provider?: Provider
  /** Providers by name in place of those the routes name; the others are built from `env`. */
  providers?: Record<string, Provider>
  clock?: Clock
  store?: IdempotencyStore
  /** The guard's counters; memory on the app's clock by default. */
  counters?: RateCounters
  /** The delivery records; memory on the app's clock by default, none with `null` or SMS_HOOK_RECEIPTS=off. */
  deliveries?: DeliveryStore | null
  /** The number key; the deployment's own (createApp's default) when not given. */
  numberKey?: NumberKey
  /** `/readyz`'s check of the shared state. */
  ready?: () => Promise<void>
  remoteAddress?: string
  /** When each request arrived, as the Node server records it; the handler's own start by default. */
  arrivedAt?: () => number
  /** Observers besides the one that collects `events`. */
  observers?: readonly HookObserver[]
  /** The provider definitions to build from (Node gives Alibaba Cloud its SDK transport); the shared list by default. */
  definitions?: readonly ProviderDefinition[]
}

/**
 * The guard's default limits (10 a number and 30 an address an hour) would refuse suites that send many calls to
 * the fixtures' one number: they are off unless a case sets them. Their defaults are checked in test/guard.
 */
export const NO_LIMITS: Env = { SMS_HOOK_LIMIT_PER_NUMBER: 'off', SMS_HOOK_LIMIT_PER_IP: 'off' }

export const makeApp = (options: MakeAppOptions = {}) => {
  const config = parseConfig({
    GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET,
    NODE_ENV: 'test',
    LOG_LEVEL: 'debug',
    ...NO_LIMITS,
    ...options.env,
  })
  const clock = options.clock ?? systemClock
  const logs: LogLine[] = []
  const logger = createJsonLogger({ level: config.logLevel, write: (line) => logs.push(JSON.parse(line) as LogLine) })
  const inbox = new MemoryInbox()
  const store = options.store ?? new MemoryIdempotencyStore({ clock })
  const counters = options.counters ?? new MemoryRateCounters({ clock })
  const deliveries =
    options.deliveries === null
      ? undefined
      : (options.deliveries ?? (config.delivery.enabled ? new MemoryDeliveryStore({ clock }) : undefined))
  const events: HookEvent[] = []
  const given = options.provider ? { [config.routing.providers[0]!.name]: options.provider } : (options.providers ?? {})
  const providers = {
    ...buildProviders(
      config.routing.providers.filter((provider) => !Object.hasOwn(given, provider.name)),
      { clock, fetch: globalThis.fetch, logger, inbox, receiptUrl: receiptUrls(config.delivery) },
      options.definitions,
    ),
    ...given,
  }
  const app = createApp(config, {
    clock,
    store,
    counters,
    ...(deliveries ? { deliveries } : {}),
    numberKey: options.numberKey,
    ready: options.ready,
    logger,
    providers,
    observers: [(event) => events.push(event), ...(options.observers ?? [])],
    // A request made with app.request() comes from this machine unless the test says otherwise.
    remoteAddress: () => options.remoteAddress ?? '127.0.0.1',
    ...(options.arrivedAt ? { arrivedAt: options.arrivedAt } : {}),
  })
  return { app, config, logs, events, inbox, store, counters, deliveries }
}
