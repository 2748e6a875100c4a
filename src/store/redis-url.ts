import { ConfigError } from '../errors.js'

/** What a REDIS_URL says: where Redis is, who we are to it, which database, and whether to speak TLS. */
export interface RedisEndpoint {
  host: string
  port: number
  username: string | undefined
  password: string | undefined
  db: number
  tls: boolean
}

/**
 * Reads `redis://[user:password@]host[:port][/db]` or `rediss://` (TLS): port 6379 and database 0 unless given,
 * user and password percent-decoded. A leaf without Node imports, so the configuration can check the URL on any
 * runtime. Never puts the URL in an error, as it may hold a password.
 */
export const parseRedisUrl = (url: string): RedisEndpoint => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new ConfigError('REDIS_URL', 'is not a URL')
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new ConfigError('REDIS_URL', 'must start with redis:// or rediss://')
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1')
  if (host === '') throw new ConfigError('REDIS_URL', 'has no host')
  const path = parsed.pathname.replace(/^\//, '')
  if (path !== '' && !/^\d{1,5}$/.test(path)) throw new ConfigError('REDIS_URL', 'the path must be a database index')
  return {
    host,
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    username: parsed.username === '' ? undefined : decodeURIComponent(parsed.username),
    password: parsed.password === '' ? undefined : decodeURIComponent(parsed.password),
    db: path === '' ? 0 : Number(path),
    tls: parsed.protocol === 'rediss:',
  }
}
