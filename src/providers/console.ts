import type { Clock } from '../clock.js'
import type { Inbox } from '../dev/inbox.js'
import type { Logger } from '../log.js'
import type { Provider, SendResult, SmsMessage } from './types.js'

export interface ConsoleProviderOptions {
  inbox: Inbox
  logger: Logger
  clock: Clock
}

/**
 * Development provider: prints each OTP and keeps it in the inbox instead of sending an SMS.
 * Its log line is the one place an OTP may appear in logs, which is why production must choose it explicitly.
 */
export const createConsoleProvider = ({ inbox, logger, clock }: ConsoleProviderOptions): Provider => ({
  name: 'console',
  async send(message: SmsMessage): Promise<SendResult> {
    if (logger.enabled('info')) {
      logger.info(`console sms to +${message.to}: ${message.text}`, {
        provider: 'console',
        to: message.to,
        otp: message.otp,
        sms_type: message.smsType,
      })
    }
    await inbox.add({
      id: message.reference,
      to: message.to,
      otp: message.otp,
      text: message.text,
      sms_type: message.smsType,
      at: new Date(clock.now()).toISOString(),
    })
    return { messageId: `console-${message.reference}` }
  },
})
