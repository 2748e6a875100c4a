import { text, type Env } from '../config/env.js'
import { parseMode, type Config } from '../config/index.js'
import { eachError } from '../config/settings.js'
import { isConfigError } from '../errors.js'
import { createJsonLogger } from '../log.js'
import type { ServerConfig } from './config.js'
import { readConfiguration, summarize } from './configuration.js'
import { DEV_SECRET_FILE, loadOrCreateDevSecret } from './dev-secret.js'
import { isMetricsListenError, REQUEST_GRACE_MS, startNodeServer, type NodeServer } from './server.js'

/**
 * The Node entry: the one place that reads `process.env`.
 *
 * Production is the default. Development mode is asked for (`npm run dev`, `--dev`, NODE_ENV=development or
 * test); without a secret it makes one up, so that a fresh checkout starts with no settings at all, and prints
 * what to paste into GoTrue.
 */
const main = async () => {
  const env: Env = { ...process.env }
  if (process.argv.includes('--dev')) env.NODE_ENV = 'development'
  let devSecret: { secret: string; created: boolean } | undefined
  let config: Config
  let listen: ServerConfig
  try {
    if (parseMode(env) === 'development' && !text(env, 'GOTRUE_HOOK_SEND_SMS_SECRETS')) {
      devSecret = loadOrCreateDevSecret()
      env.GOTRUE_HOOK_SEND_SMS_SECRETS = devSecret.secret
    }
    ;({ config, server: listen } = readConfiguration(env))
  } catch (error) {
    if (!isConfigError(error)) throw error
    // Every mistake at once, one per line, so that one redeploy fixes them all.
    const errors = eachError(error)
    for (const e of errors) console.error(`sms-hook: invalid configuration: ${e.message}`)
    process.exit(1)
  }

  const logger = createJsonLogger({ level: config.logLevel })
  // What this start-up will do, in one line (no secret): the first thing to read when something is off.
  logger.info('configuration', summarize(env, { config, server: listen }))
  for (const note of config.notes) logger.warn(`${note.variable}: ${note.reason}`)
  let node: NodeServer
  try {
    node = await startNodeServer(config, listen, { logger })
  } catch (error) {
    const reason = listenFailure(error, listen)
    if (reason === undefined) throw error
    console.error(`sms-hook: cannot listen: ${reason}`)
    process.exit(1)
  }
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) process.exit(1) // a second Ctrl-C means "now"
    stopping = true
    const closed = node.close() // no new connections from here on
    logger.info('shutting down: finishing in-flight hooks', { signal })
    // close() ends every connection within the request timeout (SMS_HOOK_TIMEOUT + 1 s); past that, the
    // server itself is stuck.
    setTimeout(() => process.exit(1), config.hook.timeoutMs + REQUEST_GRACE_MS + 2000).unref()
    closed.then(
      () => process.exit(0),
      () => process.exit(1),
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))

  const providers = config.routing.providers.map((provider) => provider.name)
  logger.info('listening', {
    url: node.bound.url,
    mode: config.mode,
    provider: providers.join(','),
    routes: config.routing.routes.map((route) => `${route.prefix}=${route.providers.join(',')}`).join(';'),
    state: config.state.redis ? 'redis' : 'memory',
    metrics: node.bound.metricsUrl ?? 'none',
  })
  if (config.message.nationalNumbersDefaulted) {
    logger.info(
      'SMS_HOOK_NATIONAL_NUMBERS is unset and no provider sends outside mainland China: a bare 11-digit 1[3-9] number is read as +86 (SMS_HOOK_NATIONAL_NUMBERS=none reads every number as E.164)',
    )
  }
  if (config.mode === 'production' && providers.includes('console')) {
    logger.warn(
      'the console provider prints every OTP to this log and sends no SMS: use it for testing only; ' +
        (config.inbox.token
          ? 'the inbox answers SMS_HOOK_INBOX_TOKEN holders only'
          : 'no inbox is served without SMS_HOOK_INBOX_TOKEN'),
    )
  }
  if (config.mode === 'development') printDevBanner(node.url, listen.host, providers.join(', '), devSecret, config)
}

/**
 * Why listening failed, naming the setting to change (PORT, or SMS_HOOK_METRICS_PORT when the metrics' own port
 * failed); undefined for an error that is not about the address.
 */
const listenFailure = (error: unknown, { host, port }: ServerConfig): string | undefined => {
  const [setting, at, cause] = isMetricsListenError(error)
    ? ['SMS_HOOK_METRICS_PORT', error.port, error.cause]
    : ['PORT', port, error]
  const code = (cause as { code?: unknown } | null)?.code
  switch (code) {
    case 'EADDRINUSE':
      return `${setting}: ${at} is already in use on ${host} (${code})`
    case 'EACCES':
      return `${setting}: ${at} needs privileges this process does not have (${code})`
    case 'EADDRNOTAVAIL':
    case 'EAFNOSUPPORT':
      return `HOST: ${host} is not an address of this machine (${code})`
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'ENODATA':
      return `HOST: "${host}" cannot be resolved (${code})`
    default:
      return undefined
  }
}

const printDevBanner = (
  url: string,
  host: string,
  providers: string,
  devSecret: { secret: string; created: boolean } | undefined,
  config: Config,
) => {
  const limited = Object.entries(config.guard.limits)
    .filter(([, limit]) => limit !== undefined)
    .map(([rule]) => rule)
  const port = new URL(url).port
  const everywhere = host === '0.0.0.0' || host === '::'
  const secret = devSecret?.secret ?? '<your GOTRUE_HOOK_SEND_SMS_SECRETS>'
  console.log(`
  sms-hook (development mode, ${providers} provider${providers.includes(',') ? 's' : ''}): ${url}
  Listening on ${everywhere ? 'all interfaces' : host}${everywhere ? ' (GoTrue in Docker reaches it as host.docker.internal)' : ''}.
  Codes appear below and at ${url}/dev/inbox, which answers this machine and private networks only.
  Velocity limits: ${limited.length ? `only ${limited.join(', ')} (set explicitly)` : 'off in development (set SMS_HOOK_LIMIT_* to try them)'}; DELETE /dev/inbox clears them.
${
  devSecret
    ? `
  ${devSecret.created ? 'New development secret' : 'Development secret'} (kept in ${DEV_SECRET_FILE}):
    ${devSecret.secret}
`
    : ''
}
  GoTrue settings to paste (self-hosted .env / docker compose "auth" service):
    GOTRUE_HOOK_SEND_SMS_ENABLED=true
    GOTRUE_HOOK_SEND_SMS_URI=http://host.docker.internal:${port}/send-sms
    GOTRUE_HOOK_SEND_SMS_SECRETS=${secret}

  GoTrue accepts http:// only for localhost, 127.0.0.1, ::1 and host.docker.internal;
  any other hook URL must be https://. Use http://localhost:${port}/send-sms when GoTrue
  runs outside Docker on this machine.
`)
}

await main()
