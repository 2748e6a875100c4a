/** One OTP message, ready for a provider. */
export interface SmsMessage {
  /** Destination as E.164 digits without `+` (GoTrue's form), or a national number when configured so. */
  to: string
  otp: string
  /** The rendered message text (`GOTRUE_SMS_TEMPLATE` / `GOTRUE_MFA_PHONE_TEMPLATE`). */
  text: string
  /** `mfa` for an MFA challenge, otherwise `sms`. */
  smsType: string
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
 */
export interface Provider {
  readonly name: string
  send(message: SmsMessage, options: SendOptions): Promise<SendResult>
}
