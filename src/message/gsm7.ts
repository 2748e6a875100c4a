/**
 * The GSM 03.38 default alphabet (3GPP TS 23.038), which is what an SMS carries unless it is sent as UCS-2.
 * Vendors that are told a text is plain send it in this alphabet and turn every other character into `?`,
 * so a provider must ask for unicode whenever one character falls outside it.
 */

/** The basic character set in code order, less 0x1B: the escape to the extension table, not a character. */
const BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà'

/** The extension table: each costs two septets (escape + code) but needs no unicode. */
const EXTENSION = '\f^{}\\[~]|€'

const GSM7 = new Set([...BASIC, ...EXTENSION])

/**
 * Whether every character of `text` can be sent in the GSM 7-bit alphabet.
 *
 * @example
 * isGsm7('Your code is 482913') // true
 * isGsm7('您的验证码是 482913')  // false
 */
export const isGsm7 = (text: string): boolean => {
  for (const char of text) if (!GSM7.has(char)) return false
  return true
}
