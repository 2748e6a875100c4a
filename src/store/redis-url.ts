import { ConfigError } from '../errors.js'

/** One `host:port` of a REDIS_URL. */
export interface RedisAddress {
  host: string
  port: number
}

interface Credentials {
  username: string | undefined
  password: string | undefined
  tls: boolean
}

/**
 * What a REDIS_URL says (docs/shared-state.md): where Redis is, who we are to it, and whether to speak TLS.
 * - `standalone`: one server, or a managed service's single endpoint (`redis://`, `rediss://`).
 * - `cluster`: seed nodes of a Redis Cluster (`redis+cluster://`, `rediss+cluster://`); the client learns the rest.
 * - `sentinel`: the sentinels and the name of the master they watch (`redis+sentinel://`, `rediss+sentinel://`);
 *   the credentials are the master's and its replicas', the sentinels are asked without any.
 */
export type RedisTarget =
  | ({ kind: 'standalone'; host: string; port: number; db: number } & Credentials)
  | ({ kind: 'cluster'; nodes: RedisAddress[] } & Credentials)
  | ({ kind: 'sentinel'; sentinels: RedisAddress[]; name: string; db: number } & Credentials)

const KINDS: Record<string, { kind: RedisTarget['kind']; tls: boolean }> = {
  'redis:': { kind: 'standalone', tls: false },
  'rediss:': { kind: 'standalone', tls: true },
  'redis+cluster:': { kind: 'cluster', tls: false },
  'rediss+cluster:': { kind: 'cluster', tls: true },
  'redis+sentinel:': { kind: 'sentinel', tls: false },
  'rediss+sentinel:': { kind: 'sentinel', tls: true },
}

const DEFAULT_PORT = { standalone: 6379, cluster: 6379, sentinel: 26379 }

/**
 * Reads a REDIS_URL: `redis://[user:password@]host[:port][/db]`, `redis+cluster://[user:password@]host:port,
 * host:port[,...]`, or `redis+sentinel://[user:password@]host:port,host:port[,...]/<master name>[?db=N]`, each
 * with an `s` after `redis` for TLS. User and password are percent-decoded. A leaf without Node imports, so the
 * configuration can check the URL on any runtime. Never puts the URL in an error, as it may hold a password.
 */
export const parseRedisUrl = (url: string): RedisTarget => {
  const scheme = /^([a-z+]+:)\/\//i.exec(url)?.[1]?.toLowerCase()
  const kind = scheme === undefined ? undefined : KINDS[scheme]
  if (kind === undefined) {
    if (scheme === undefined && !isUrl(url)) throw new ConfigError('REDIS_URL', 'is not a URL')
    throw new ConfigError(
      'REDIS_URL',
      'must start with redis://, rediss://, redis+cluster://, rediss+cluster://, redis+sentinel:// or rediss+sentinel://',
    )
  }
  // The WHATWG parser takes one host only: the authority is split by hand, then each host read as a URL's.
  const rest = url.slice(scheme!.length + 2)
  const authorityEnd = rest.search(/[/?#]/)
  const authority = authorityEnd === -1 ? rest : rest.slice(0, authorityEnd)
  const tail = authorityEnd === -1 ? '' : rest.slice(authorityEnd)
  const at = authority.lastIndexOf('@')
  const userinfo = at === -1 ? '' : authority.slice(0, at)
  const hosts = (at === -1 ? authority : authority.slice(at + 1)).split(',')
  const credentials = { ...readUserinfo(userinfo), tls: kind.tls }
  const addresses = hosts.map((host) => readAddress(host, DEFAULT_PORT[kind.kind]))
  let path: string
  let query: URLSearchParams
  try {
    const parsed = new URL(`http://h${tail}`)
    path = decodeURIComponent(parsed.pathname.replace(/^\//, ''))
    query = parsed.searchParams
  } catch {
    throw new ConfigError('REDIS_URL', 'is not a URL')
  }

  if (kind.kind === 'standalone') {
    if (addresses.length > 1) {
      throw new ConfigError('REDIS_URL', 'names several hosts: use redis+cluster:// or redis+sentinel:// for those')
    }
    if (path !== '' && !/^\d{1,5}$/.test(path)) throw new ConfigError('REDIS_URL', 'the path must be a database index')
    return { kind: 'standalone', ...addresses[0]!, db: path === '' ? 0 : Number(path), ...credentials }
  }
  if (kind.kind === 'cluster') {
    // A cluster has database 0 only.
    if (path !== '')
      throw new ConfigError('REDIS_URL', 'a redis+cluster:// URL takes no path (a cluster has one database)')
    return { kind: 'cluster', nodes: addresses, ...credentials }
  }
  if (path === '') throw new ConfigError('REDIS_URL', 'a redis+sentinel:// URL needs the master name as its path')
  const db = query.get('db')
  if (db !== null && !/^\d{1,5}$/.test(db)) throw new ConfigError('REDIS_URL', 'db must be a database index')
  return { kind: 'sentinel', sentinels: addresses, name: path, db: db === null ? 0 : Number(db), ...credentials }
}

const readUserinfo = (userinfo: string): { username: string | undefined; password: string | undefined } => {
  if (userinfo === '') return { username: undefined, password: undefined }
  const colon = userinfo.indexOf(':')
  const user = colon === -1 ? userinfo : userinfo.slice(0, colon)
  const password = colon === -1 ? '' : userinfo.slice(colon + 1)
  try {
    return {
      username: user === '' ? undefined : decodeURIComponent(user),
      password: password === '' ? undefined : decodeURIComponent(password),
    }
  } catch {
    throw new ConfigError('REDIS_URL', 'the user or password is not percent-encoded')
  }
}

const readAddress = (text: string, defaultPort: number): RedisAddress => {
  if (text === '') throw new ConfigError('REDIS_URL', 'has no host')
  let parsed: URL
  try {
    parsed = new URL(`http://${text}`)
  } catch {
    throw new ConfigError('REDIS_URL', 'has a host that is not a host name, address or port')
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1')
  if (host === '') throw new ConfigError('REDIS_URL', 'has no host')
  // `http://h:80` reads as no port: take the digits from the text itself.
  const port = /:(\d+)$/.exec(text)?.[1]
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535))
    throw new ConfigError('REDIS_URL', 'has a port out of range')
  return { host, port: port === undefined ? defaultPort : Number(port) }
}

const isUrl = (text: string) => {
  try {
    new URL(text)
    return true
  } catch {
    return false
  }
}
