import { MemoryInbox } from '../dev/inbox.js'
import { defineProvider, type Provider, type SendResult, type SmsMessage } from './types.js'

/**
 * Development provider: prints each OTP and keeps it in the inbox instead of sending an SMS. Its log line is
 * the one place an OTP may appear in logs, which is why production must choose it explicitly.
 */
export const consoleProvider = defineProvider({
  name: 'console',
  usesInbox: true,
  settings: {},
  parse: () => ({}),
  create(_settings, { logger, clock, inbox = new MemoryInbox() }): Provider {
    return {
      name: 'console',
      inbox,
      async send(message: SmsMessage): Promise<SendResult> {
        const to = message.to.e164
        if (logger.enabled('info')) {
          logger.info(`console sms to +${to}: ${message.text}`, {
            provider: 'console',
            to,
            otp: message.otp,
            sms_type: message.smsType,
          })
        }
        await inbox.add({
          id: message.reference,
          to,
          otp: message.otp,
          text: message.text,
          sms_type: message.smsType,
          at: new Date(clock.now()).toISOString(),
        })
        // The hook's own key: nothing was sent, and the same string costs no memory where the outcome is kept.
        return { messageId: message.reference }
      },
    }
  },
})
