/** Structured logging: one JSON line per event, so log pipelines can index fields without parsing prose. */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export type LogFields = Record<string, unknown>

export interface Logger {
  debug(msg: string, fields?: LogFields): void
  info(msg: string, fields?: LogFields): void
  warn(msg: string, fields?: LogFields): void
  error(msg: string, fields?: LogFields): void
  /** Whether `level` is written, so a caller can skip building fields that would be dropped. */
  enabled(level: LogLevel): boolean
}

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error']

export interface JsonLoggerOptions {
  level: LogLevel
  /** Where a finished line goes; `console.log` by default, which both Node and workerd forward. */
  write?: (line: string) => void
  now?: () => number
}

/**
 * A logger writing `{"level","time","msg",...fields}` lines at or above `level`.
 *
 * @example
 * const log = createJsonLogger({ level: 'info' })
 * log.info('hook', { key, phone: maskPhone(to), outcome: 'sent' })
 */
export const createJsonLogger = (options: JsonLoggerOptions): Logger => {
  const threshold = LOG_LEVELS.indexOf(options.level)
  const write = options.write ?? ((line: string) => console.log(line))
  const now = options.now ?? Date.now
  const at = (level: LogLevel) => {
    if (LOG_LEVELS.indexOf(level) < threshold) return () => {}
    return function log(msg: string, fields?: LogFields) {
      write(JSON.stringify({ level, time: new Date(now()).toISOString(), msg, ...fields }))
    }
  }
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    enabled: (level) => LOG_LEVELS.indexOf(level) >= threshold,
  }
}

/** A logger that drops everything (benchmarks, tests that do not look at logs). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, enabled: () => false }

/** The longest value from an unauthenticated request that goes into a log line, so no client can fill the log. */
const MAX_LOGGED_CHARS = 64

/** `value` cut to MAX_LOGGED_CHARS characters, the last one an ellipsis when something was cut. */
export const clip = (value: string | undefined): string | undefined =>
  value === undefined || value.length <= MAX_LOGGED_CHARS ? value : `${value.slice(0, MAX_LOGGED_CHARS - 1)}…`

/**
 * Masks a phone number for logs: enough to tell numbers apart in an incident, not enough to contact anyone.
 * `8613800138000` -> `86138****8000`.
 */
export const maskPhone = (phone: string): string => {
  const digits = phone.replace(/^\+/, '')
  if (digits.length <= 8) return `****${digits.slice(-2)}`
  const head = Math.min(5, digits.length - 8)
  return `${digits.slice(0, head)}****${digits.slice(-4)}`
}
