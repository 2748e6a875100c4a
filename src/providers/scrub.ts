/**
 * What may be logged of a vendor's answer or a network error. A `ProviderError` message is written to the logs,
 * and vendors echo what they were sent: the number, the text with its OTP, our template parameters, and error
 * texts carry URLs whose query strings may hold the same. Every provider passes such text through `scrubText`.
 */
import { maskPhone } from '../log.js'
import type { SmsMessage } from './types.js'

/** Longest text kept: enough for a vendor's explanation, short enough to keep logs and alerts readable. */
export const MAX_SCRUBBED_LENGTH = 300

const URL_PATTERN = /\b[a-z][a-z0-9+.-]*:\/\/\S*/gi
/** The query of a `path?a=b` form, up to the next space or quote. */
const QUERY = /\?[^\s"'?]*=[^\s"']*/g
/** An innermost `{...}` with a `:` or a `"` in it, or `[...]` with a `"`: JSON such as template parameters. */
const JSON_BLOB = /\{[^{}]*[":][^{}]*\}|\[[^[\]]*"[^[\]]*\]/g
/**
 * A run of 7 or more digits standing alone, perhaps after a `+`: any phone number. Digits joined to letters,
 * `_` or `.` belong to a vendor's code or id (`SMS_154950909`, `isv.X1234567`) and are left as they are.
 */
const LONG_NUMBER = /(?<![\w.])\+?\d{7,}(?!\w)/g

/**
 * Returns `text` fit for a log line: URLs, query strings and JSON parameter blobs removed, the message's number
 * masked as `maskPhone` does (`86138****8000`), its OTP replaced by `******`, any other number of 7 or more
 * digits masked too, and the whole cut to 300 characters.
 *
 * @example
 * scrubText('The To number +8613800138000 is invalid, code 482913', message)
 * // 'The To number +86138****8000 is invalid, code ******'
 */
export const scrubText = (text: string, message?: SmsMessage): string => {
  let out = text.replace(URL_PATTERN, '<url>').replace(QUERY, '')
  for (let before = ''; before !== out;) {
    before = out
    out = out.replace(JSON_BLOB, (blob) => (blob.startsWith('{') ? '<object>' : '<list>'))
  }
  if (message !== undefined) {
    const masked = maskPhone(message.to.e164)
    // Longest first: the national digits are a tail of the E.164 ones. The number goes before the OTP, whose
    // digits may occur inside it.
    for (const form of [message.to.e164, message.to.national].sort((a, b) => b.length - a.length)) {
      if (form.length >= 4) out = out.replaceAll(form, masked)
    }
    if (message.otp !== '') out = out.replaceAll(message.otp, '******')
  }
  out = out.replace(LONG_NUMBER, (digits) => (digits.startsWith('+') ? '+' : '') + maskPhone(digits))
  return out.length > MAX_SCRUBBED_LENGTH ? `${out.slice(0, MAX_SCRUBBED_LENGTH - 1)}…` : out
}
