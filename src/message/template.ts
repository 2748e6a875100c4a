/**
 * GoTrue-style message templates (`{{ .Code }}`, `{{ .ExpiryMinutes }}`): a leaf module shared by the hook's
 * text messages and by providers whose vendor templates take parameters (Alibaba Cloud, Tencent Cloud).
 */
import { ConfigError } from '../errors.js'

/** The values a template may use. Anything else is refused at start-up, so a typo never reaches an SMS. */
const TEMPLATE_FIELDS = ['Code', 'ExpiryMinutes'] as const
export type TemplateValues = Record<(typeof TEMPLATE_FIELDS)[number], string>

const PLACEHOLDER = /\{\{\s*\.([A-Za-z_$][\w$]*)\s*\}\}/g

/** Literal text at even indexes, a field name at odd ones. */
type Part = string

export interface CompileOptions {
  /** The variable the template came from, named in the error. */
  variable: string
  /** Whether the template must show the code (a message text must; one vendor template parameter need not). */
  requireCode?: boolean
}

/**
 * Compiles a template once, at start-up, so a request only joins strings. A placeholder other than
 * `{{ .Code }}` or `{{ .ExpiryMinutes }}` (including names such as `{{ .constructor }}`) is a `ConfigError`
 * naming the variable, and so is a template without `{{ .Code }}` when `requireCode` is set.
 *
 * @example
 * const render = compileTemplate('Your code is {{ .Code }}', { variable: 'GOTRUE_SMS_TEMPLATE' })
 * render({ Code: '123456', ExpiryMinutes: '5' }) // 'Your code is 123456'
 */
export const compileTemplate = (template: string, options: CompileOptions): ((values: TemplateValues) => string) => {
  const parts: Part[] = []
  let last = 0
  let hasCode = false
  for (const match of template.matchAll(PLACEHOLDER)) {
    const name = match[1]!
    if (!(TEMPLATE_FIELDS as readonly string[]).includes(name)) {
      throw new ConfigError(
        options.variable,
        `uses {{ .${name} }}; only ${TEMPLATE_FIELDS.map((f) => `{{ .${f} }}`).join(' and ')} are known`,
      )
    }
    hasCode ||= name === 'Code'
    parts.push(template.slice(last, match.index), name)
    last = match.index + match[0].length
  }
  parts.push(template.slice(last))
  if (options.requireCode && !hasCode) {
    throw new ConfigError(options.variable, 'must contain {{ .Code }}, or the SMS would carry no code')
  }
  return (values) => {
    let out = ''
    for (let i = 0; i < parts.length; i += 2) {
      out += parts[i] as string
      const field = parts[i + 1] as (typeof TEMPLATE_FIELDS)[number] | undefined
      if (field !== undefined) out += values[field]
    }
    return out
  }
}

/** Minutes the OTP stays valid (`GOTRUE_SMS_OTP_EXP` in seconds), at least 1, as templates say "valid for N minutes". */
export const expiryMinutes = (otpExpSeconds: number): number => Math.max(1, Math.ceil(otpExpSeconds / 60))
