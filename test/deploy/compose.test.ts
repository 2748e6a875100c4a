/**
 * docker-compose.example.yml, checked without a container engine: parsed as Compose reads it (anchors and merge
 * keys resolved, `${NAME}` taken from the environment), then held against what GoTrue needs
 * (docs/gotrue-contract.md) and against the files of this repository.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

const ROOT = resolve(import.meta.dirname, '../..')
const FILE = resolve(ROOT, 'docker-compose.example.yml')
const text = readFileSync(FILE, 'utf8')

type Environment = Record<string, string | number | boolean | null>
interface Service {
  image?: string
  build?: string | { context?: string; dockerfile?: string }
  environment?: Environment | string[]
  depends_on?: string[] | Record<string, unknown>
  volumes?: (string | { type?: string; source?: string })[]
  networks?: string[] | Record<string, { aliases?: string[] } | null>
}

/** The environment of a trial, as the file's header has one make it. */
const TRIAL: Record<string, string> = {
  GOTRUE_HOOK_SEND_SMS_SECRETS: `v1,whsec_${randomBytes(32).toString('base64')}`,
  GOTRUE_JWT_SECRET: randomBytes(32).toString('hex'),
  POSTGRES_PASSWORD: randomBytes(16).toString('hex'),
}

/**
 * Compose's interpolation of one value: `$$` is `$`; `${NAME:?message}` and `${NAME?message}` fail when NAME is
 * unset (`:?` also when empty); `${NAME:-default}`/`${NAME-default}` fall back; `${NAME}` and `$NAME` may be empty.
 */
const interpolate = (value: string, env: Record<string, string | undefined>): string =>
  value.replace(/\$\$|\$\{(\w+)(?:(:?)([?-])([^}]*))?\}|\$(\w+)/g, (match, braced, colon, op, word, bare) => {
    if (match === '$$') return '$'
    const name = (braced ?? bare) as string
    const set = env[name] !== undefined && (colon !== ':' || env[name] !== '')
    if (op === '?' && !set) throw new Error(`required variable ${name} is missing a value: ${word}`)
    if (op === '-' && !set) return word as string
    return env[name] ?? ''
  })

const interpolateAll = (node: unknown, env: Record<string, string | undefined>): unknown => {
  if (typeof node === 'string') return interpolate(node, env)
  if (Array.isArray(node)) return node.map((item) => interpolateAll(item, env))
  if (node && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, interpolateAll(value, env)]))
  }
  return node
}

const raw = parse(text, { merge: true }) as unknown
const compose = interpolateAll(raw, TRIAL) as { services: Record<string, Service> }
const services = compose.services

/** A service's environment as Compose passes it: values as strings, whichever of the two forms the file uses. */
const envOf = (service: Service): Record<string, string> => {
  const env = service.environment ?? {}
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry) => [entry.split('=')[0]!, entry.slice(entry.indexOf('=') + 1)]))
  }
  return Object.fromEntries(Object.entries(env).map(([name, value]) => [name, value === null ? '' : String(value)]))
}

const named = (predicate: (service: Service) => boolean) =>
  Object.entries(services)
    .filter(([, service]) => predicate(service))
    .map(([name]) => name)

const [gotrueName] = named((s) => /^supabase\/(auth|gotrue):/.test(s.image ?? ''))
const gotrue = services[gotrueName!]!
const gotrueEnv = envOf(gotrue)
const replicas = named((s) => s.build !== undefined)
const [balancerName] = named((s) => /^nginx[:@]/.test(s.image ?? ''))
const balancer = services[balancerName!]!

/** The bind-mounted files and folders of a service, resolved against the compose file's folder. */
const bindSources = (service: Service) =>
  (service.volumes ?? [])
    .map((volume) =>
      typeof volume === 'string' ? volume.split(':')[0]! : volume.type === 'bind' ? volume.source! : '',
    )
    .filter((source) => source.startsWith('.') || source.startsWith('/'))
    .map((source) => resolve(dirname(FILE), source))

describe('docker-compose.example.yml', () => {
  it('says at the top how to run it, with the secrets to export first', () => {
    const header = text.slice(0, text.search(/^[^#\n]/m))
    expect(header).toMatch(/docker compose -f docker-compose\.example\.yml up/)
    expect(header).toMatch(/replace the hook secret/i)
    expect(header).toMatch(/^#\s+export /m)
    for (const name of Object.keys(TRIAL))
      expect(header, name).toMatch(new RegExp(`\\b${name}="[^"]*\\$\\(openssl rand `))
  })

  it('commits no secret: Compose refuses to start until the hook secret, the JWT secret and the password are given', () => {
    expect(text.replace(/^\s*#.*$/gm, '')).not.toMatch(/whsec_/)
    for (const name of Object.keys(TRIAL)) {
      expect(() => interpolateAll(raw, { ...TRIAL, [name]: undefined }), name).toThrow(`required variable ${name}`)
      expect(() => interpolateAll(raw, { ...TRIAL, [name]: '' }), name).toThrow(`required variable ${name}`)
    }
  })

  it('runs as a trial: the replicas use the console provider, which needs no account and sends nothing', () => {
    for (const name of replicas) expect(envOf(services[name]!).GOTRUE_SMS_PROVIDER, name).toBe('console')
  })

  it('runs GoTrue v2.187.0 or later, which sends metadata and reads error objects', () => {
    const version = /:v(\d+)\.(\d+)\.(\d+)$/.exec(gotrue.image!)
    expect(version, gotrue.image).not.toBeNull()
    const [major, minor] = version!.slice(1).map(Number) as [number, number]
    expect(major > 2 || (major === 2 && minor >= 187)).toBe(true)
  })

  it('gives GoTrue every setting phone sign-in through the hook needs', () => {
    for (const name of [
      'GOTRUE_DB_DRIVER',
      'GOTRUE_JWT_SECRET',
      'API_EXTERNAL_URL',
      'GOTRUE_SITE_URL',
      'GOTRUE_HOOK_SEND_SMS_SECRETS',
    ]) {
      expect(gotrueEnv[name], name).toBeTruthy()
    }
    expect(gotrueEnv.GOTRUE_DB_DATABASE_URL || gotrueEnv.DATABASE_URL).toBeTruthy()
    expect(gotrueEnv.GOTRUE_EXTERNAL_PHONE_ENABLED).toBe('true')
    expect(gotrueEnv.GOTRUE_HOOK_SEND_SMS_ENABLED).toBe('true')
    expect(gotrueEnv.GOTRUE_HOOK_SEND_SMS_URI).toBe('http://host.docker.internal:8080/send-sms')
    expect(gotrueEnv.GOTRUE_JWT_SECRET!.length).toBeGreaterThanOrEqual(32)
  })

  it('points GoTrue at a Postgres service of the file that it waits for', () => {
    const url = new URL(gotrueEnv.GOTRUE_DB_DATABASE_URL || gotrueEnv.DATABASE_URL!)
    expect(url.protocol).toMatch(/^postgres(ql)?:$/)
    const db = services[url.hostname]
    expect(db?.image).toMatch(/^(supabase\/)?postgres:/)
    expect(Object.keys(dependsOn(gotrue))).toContain(url.hostname)
    // The password in GoTrue's URL is the one the database was given.
    expect(decodeURIComponent(url.password)).toBe(envOf(db!).PGPASSWORD ?? envOf(db!).POSTGRES_PASSWORD)
  })

  it('runs two sms-hook replicas built from this repository, sharing Redis', () => {
    expect(replicas).toHaveLength(2)
    for (const name of replicas) {
      const env = envOf(services[name]!)
      expect(env.REDIS_URL, name).toBe('redis://redis:6379')
      expect(services.redis?.image, 'a redis service').toMatch(/^(redis|valkey\/valkey):/)
      expect(Object.keys(dependsOn(services[name]!))).toContain('redis')
      expect(env.GOTRUE_SMS_PROVIDER, name).toBeTruthy()
      expect(env.NODE_ENV, name).toBe('production')
    }
  })

  it('runs Redis so that it refuses at its limit rather than forget a call, and keeps what it has across a restart', () => {
    const command = (services.redis as { command?: string[] } | undefined)?.command ?? []
    const option = (name: string) => command[command.indexOf(name) + 1]
    expect(option('--maxmemory-policy')).toBe('noeviction')
    expect(option('--appendonly')).toBe('yes')
    expect(option('--appendfsync')).toBe('everysec')
  })

  it('gives the provider the replicas use the settings it requires', () => {
    for (const name of replicas) {
      const env = envOf(services[name]!)
      if (env.GOTRUE_SMS_PROVIDER !== 'aliyun') continue
      for (const setting of [
        'GOTRUE_SMS_ALIYUN_ACCESS_KEY_ID',
        'GOTRUE_SMS_ALIYUN_ACCESS_KEY_SECRET',
        'GOTRUE_SMS_ALIYUN_REGION_ID',
      ]) {
        expect(env[setting], `${name} ${setting}`).toBeTruthy()
      }
      if (env.GOTRUE_SMS_ALIYUN_IS_TEST !== 'true') {
        expect(env.GOTRUE_SMS_ALIYUN_SIGN_NAME, name).toBeTruthy()
        expect(env.GOTRUE_SMS_ALIYUN_TEMPLATE_CODE, name).toBeTruthy()
      }
    }
  })

  it('gives GoTrue and both replicas the same hook secret, in the form GoTrue accepts', () => {
    const secret = gotrueEnv.GOTRUE_HOOK_SEND_SMS_SECRETS!
    expect(secret).toMatch(/^v1,whsec_[A-Za-z0-9+/=]{32,88}$/)
    for (const name of replicas) expect(envOf(services[name]!).GOTRUE_HOOK_SEND_SMS_SECRETS, name).toBe(secret)
  })

  it('builds from a context and Dockerfile that exist, and mounts only files that exist', () => {
    for (const name of replicas) {
      const build = services[name]!.build!
      const context = resolve(dirname(FILE), typeof build === 'string' ? build : (build.context ?? '.'))
      const dockerfile = resolve(context, typeof build === 'string' ? 'Dockerfile' : (build.dockerfile ?? 'Dockerfile'))
      expect(statSync(context).isDirectory(), context).toBe(true)
      expect(existsSync(dockerfile), dockerfile).toBe(true)
    }
    const mounted = Object.values(services).flatMap(bindSources)
    expect(mounted.length).toBeGreaterThan(0)
    for (const source of mounted) expect(existsSync(source), source).toBe(true)
  })

  it('names only services of the file in depends_on', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const dependency of Object.keys(dependsOn(service)))
        expect(Object.keys(services), `${name} -> ${dependency}`).toContain(dependency)
    }
  })

  it('puts the load balancer on the network as host.docker.internal, the hook URL GoTrue accepts over http', () => {
    const networks = balancer.networks
    const aliases = Array.isArray(networks)
      ? []
      : Object.values(networks ?? {}).flatMap((network) => network?.aliases ?? [])
    expect(aliases).toContain('host.docker.internal')
    for (const [name, service] of Object.entries(services)) {
      if (name === balancerName || Array.isArray(service.networks)) continue
      const others = Object.values(service.networks ?? {}).flatMap((network) => network?.aliases ?? [])
      expect(others, name).not.toContain('host.docker.internal')
    }
  })

  it("load-balances both replicas, on the hook URL's port, with the nginx config mounted from this repository", () => {
    const [config] = bindSources(balancer).filter((source) => source.endsWith('.conf'))
    expect(config, 'a mounted nginx .conf').toBeDefined()
    const nginx = readFileSync(config!, 'utf8')
    const upstream = /upstream\s+(\w+)\s*\{([^}]*)\}/.exec(nginx)
    expect(upstream, 'an upstream block').not.toBeNull()
    const servers = [...upstream![2]!.matchAll(/^\s*server\s+([\w.-]+):(\d+)/gm)].map((m) => `${m[1]}:${m[2]}`)
    expect(servers.sort()).toEqual(replicas.map((name) => `${name}:${envOf(services[name]!).PORT ?? '8080'}`).sort())
    expect(nginx).toMatch(new RegExp(`proxy_pass\\s+http://${upstream![1]};`))
    expect(nginx).toMatch(new RegExp(`listen\\s+${new URL(gotrueEnv.GOTRUE_HOOK_SEND_SMS_URI!).port};`))
  })
})

/** `depends_on` in either of its forms, as a map of service names. */
function dependsOn(service: Service): Record<string, unknown> {
  const value = service.depends_on ?? {}
  return Array.isArray(value) ? Object.fromEntries(value.map((name) => [name, {}])) : value
}
