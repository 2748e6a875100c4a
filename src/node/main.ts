import { text, type Env } from '../config/env.js'
import { parseConfig, type Config } from '../config/index.js'
import { isConfigError } from '../errors.js'
import { createJsonLogger } from '../log.js'
import { parseServerConfig, type ServerConfig } from './config.js'
import { DEV_SECRET_FILE, loadOrCreateDevSecret } from './dev-secret.js'
import { REQUEST_GRACE_MS, startNodeServer, type NodeServer } from './server.js'

/**
 * The Node entry: the one place that reads `process.env`.
 *
 * Development mode (`--dev`, or neither NODE_ENV=production nor a secret) makes up a secret so that a fresh
 * checkout starts with no settings at all, and prints what to paste into GoTrue.
 */
const main = async () => {
  const env: Env = { ...process.env }
  if (process.argv.includes('--dev')) env.NODE_ENV = 'development'
  const dev = env.NODE_ENV === 'development' || (env.NODE_ENV !== 'production' && !text(env, 'GOTRUE_HOOK_SEND_SMS_SECRETS'))
  let devSecret: { secret: string; created: boolean } | undefined
  if (dev && !text(env, 'GOTRUE_HOOK_SEND_SMS_SECRETS')) {
    devSecret = loadOrCreateDevSecret()
    env.GOTRUE_HOOK_SEND_SMS_SECRETS = devSecret.secret
  }

  let config: Config
  let listen: ServerConfig
  try {
    config = parseConfig(env)
    listen = parseServerConfig(env)
  } catch (error) {
    if (!isConfigError(error)) throw error
    console.error(`sms-hook: invalid configuration: ${error.message}`)
    process.exit(1)
  }

  const logger = createJsonLogger({ level: config.logLevel })
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
    // close() ends every connection within the request timeout (SMS_HOOK_TIMEOUT_MS + 1 s); past that, the
    // server itself is stuck.
    setTimeout(() => process.exit(1), config.hook.timeoutMs + REQUEST_GRACE_MS + 2000).unref()
    closed.then(
      () => process.exit(0),
      () => process.exit(1),
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))

  logger.info('listening', { url: node.url, mode: config.mode, provider: config.provider.name })
  if (config.mode === 'production' && config.provider.name === 'console') {
    logger.warn('the console provider prints every OTP to this log and sends no SMS: use it for testing only')
  }
  if (devSecret) printDevBanner(node.url, devSecret.secret, devSecret.created)
}

/** Why listening failed, naming the setting to change; undefined for an error that is not about the address. */
const listenFailure = (error: unknown, { host, port }: ServerConfig): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code
  switch (code) {
    case 'EADDRINUSE':
      return `PORT: ${port} is already in use on ${host} (${code})`
    case 'EACCES':
      return `PORT: ${port} needs privileges this process does not have (${code})`
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

const printDevBanner = (url: string, secret: string, created: boolean) => {
  const port = new URL(url).port
  console.log(`
  sms-hook (development mode, console provider): ${url}
  Codes appear below and at ${url}/dev/inbox

  ${created ? 'New development secret' : 'Development secret'} (kept in ${DEV_SECRET_FILE}):
    ${secret}

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
