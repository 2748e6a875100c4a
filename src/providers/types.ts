import type { Clock } from '../clock.js'
import type { DeliveryRecord, DeliveryUpdate } from '../delivery/types.js'
import type { Env } from '../config/env.js'
import type { Settings } from '../config/settings.js'
import type { Inbox } from '../dev/inbox.js'
import type { Logger } from '../log.js'
import type { PhoneNumber } from '../phone/e164.js'

/** One OTP message, ready for a provider. */
export interface SmsMessage {
  /** The destination, normalised once by the core; each provider formats it the way its vendor wants. */
  to: PhoneNumber
  otp: string
  /** The rendered message text (`GOTRUE_SMS_TEMPLATE`, or `GOTRUE_MFA_PHONE_TEMPLATE` for MFA). */
  text: string
  smsType: 'sms' | 'mfa'
  /** How long the OTP stays valid, in whole minutes, for vendor templates that show it. */
  expiryMinutes: number
  /** The hook's idempotency key: a reference that lets a delivery receipt be traced to its hook call. */
  reference: string
}

export interface SendOptions {
  /** Aborted when the hook's deadline passes; a provider should stop waiting then. */
  signal: AbortSignal
  /** The hook's deadline, epoch milliseconds by the injected clock, for providers that set their own timeouts. */
  deadline: number
}

export interface SendResult {
  /** The provider's id for the message (Twilio SID, Aliyun BizId). */
  messageId: string
}

/**
 * Sends one message. Must throw a `ProviderError` of the right kind on failure: the kind decides whether the
 * hook retries, fails over or answers, so a provider that cannot tell whether the SMS left says `outcome_unknown`.
 * Anything else it throws counts as `outcome_unknown` too.
 */
export interface Provider {
  readonly name: string
  send(message: SmsMessage, options: SendOptions): Promise<SendResult>
  /**
   * Whether this provider, as configured, can send to `to` at all (Alibaba Cloud without an international
   * template reaches mainland China mobiles only). A route skips a provider that cannot: the call goes to the
   * route's next provider, or is answered `no_route` when none can, with nothing sent and no breaker counting.
   * Absent: every number.
   */
  reaches?(to: PhoneNumber): boolean
  /** Where a provider that sends nothing keeps its messages (the console provider); the app serves it. */
  readonly inbox?: Inbox
  /**
   * Asks the vendor what became of a send whose outcome the hook does not know (Alibaba Cloud's
   * QuerySendDetails): the update to apply, or undefined while the vendor has no final word yet (or no record of
   * it). Absent: the provider's receipts are the only way to learn it. `to` is the send's number, opened from the
   * record's `sealed` by the reconciler (`delivery/reconcile.ts`), since the record keeps none in clear.
   */
  query?(record: DeliveryRecord, options: { signal: AbortSignal; to: PhoneNumber }): Promise<DeliveryUpdate | undefined>
}

/** What a provider may use; the runtime entry points supply it. */
export interface ProviderDeps {
  clock: Clock
  fetch: typeof fetch
  logger: Logger
  /** Where the console provider keeps messages on this runtime (a Durable Object on Workers); memory otherwise. */
  inbox?: Inbox
  /**
   * The URL a vendor should push this message's delivery receipt to (Twilio's `StatusCallback`, Vonage's
   * `callback`, MessageBird's `reportUrl`), built from SMS_HOOK_PUBLIC_URL; undefined when receipts are not set
   * up for `vendor`, in which case the provider asks for none.
   */
  receiptUrl?: (vendor: string, reference: string) => string | undefined
}

/**
 * Everything the service knows of one provider, in one place: its name (`GOTRUE_SMS_PROVIDER`), how it reads
 * its own variables, and how it is built. `registry.ts` lists them; adding a provider is one file and one line.
 */
export interface ProviderDefinition<Parsed = unknown> {
  readonly name: string
  /** Whether it keeps its messages in `ProviderDeps.inbox` instead of sending them (the console provider). */
  readonly usesInbox?: boolean
  /** Its variables (`config/settings.ts`): what the typo check and the settings reference know of it. */
  readonly settings: Settings
  /** Reads this provider's variables through `settings`; throws a `ConfigError` naming a missing or wrong one. */
  parse(env: Env): Parsed
  /**
   * Whether, with these settings, it can send outside mainland China. A deployment none of whose providers can
   * reads bare 11-digit mainland mobiles as +86 (`phone/e164.ts`). Absent: it sends to any country.
   */
  sendsAbroad?(settings: Parsed): boolean
  create(settings: Parsed, deps: ProviderDeps): Provider
}

/** Declares a definition with its settings type checked, then erased for the registry's list. */
export const defineProvider = <Parsed>(definition: ProviderDefinition<Parsed>): ProviderDefinition =>
  definition as ProviderDefinition
