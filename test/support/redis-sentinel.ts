/**
 * A real Sentinel setup for the tests: one master, one replica of it, and three sentinels (quorum 2) watching
 * them, each a process on a free loopback port with its own temporary directory, persisting nothing. Sentinels
 * rewrite their configuration as they learn the setup, so each has its own writable file. `killMaster` crashes
 * the master the way an OOM kill would and waits for the sentinels to promote the replica.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { onNode, until } from './redis-cluster.js'
import { findRedisServer, freePort, startRedisServer, type RedisServer } from './redis.js'

export interface RedisSentinelSetup {
  /** `redis+sentinel://` with the three sentinels and the master's name. */
  url: string
  /** The name the sentinels know the master by. */
  name: string
  /** The port of the master the sentinels name now. */
  masterPort(): Promise<number>
  /**
   * SIGKILL of the master's process; resolves with the port of the new master once every sentinel names the
   * replica as the master and the replica says it is one.
   */
  killMaster(): Promise<number>
  /** Stops every process and removes their directories. */
  stop(): Promise<void>
}

const SENTINELS = 3
const SYNC_POLLS = 100
/** Sentinels say hello to each other every 2 s through the master, and a failover takes a few seconds more. */
const DISCOVERY_POLLS = 150
const FAILOVER_POLLS = 200

interface Sentinel {
  port: number
  stop(): Promise<void>
}

/** One `redis-server <conf> --sentinel`, resolved once it answers PING. */
const startSentinel = async (binary: string, name: string, masterPort: number): Promise<Sentinel> => {
  const dir = mkdtempSync(join(tmpdir(), 'sms-hook-sentinel-'))
  const port = await freePort()
  const conf = join(dir, 'sentinel.conf')
  writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      'sentinel resolve-hostnames no',
      `sentinel monitor ${name} 127.0.0.1 ${masterPort} 2`,
      `sentinel down-after-milliseconds ${name} 1000`,
      `sentinel failover-timeout ${name} 5000`,
      '',
    ].join('\n'),
  )
  let output = ''
  const child: ChildProcess = spawn(binary, [conf, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)))
  child.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGKILL')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await until(
      `sentinel on ${port} to answer PING`,
      async () => {
        if (child.exitCode !== null) throw new Error(`sentinel exited with ${child.exitCode}: ${output}`)
        return (await onNode(port, (redis) => redis.ping())) === 'PONG'
      },
      SYNC_POLLS,
    )
  } catch (error) {
    await stop()
    throw error
  }
  return { port, stop }
}

/** `SENTINEL <args>` on one sentinel, its reply as flat field/value pairs made an object. */
const sentinelFields = async (port: number, ...args: string[]) => {
  const reply = (await onNode(port, (redis) => redis.call('SENTINEL', ...args))) as string[]
  const fields: Record<string, string> = {}
  for (let i = 0; i + 1 < reply.length; i += 2) fields[reply[i]!] = reply[i + 1]!
  return fields
}

const masterAddress = async (port: number, name: string) => {
  const reply = (await onNode(port, (redis) => redis.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name))) as [string, string] | null
  return reply === null ? undefined : Number(reply[1])
}

const role = async (port: number) => {
  const info = await onNode(port, (redis) => redis.info('replication'))
  return { role: /^role:(\w+)/m.exec(info)?.[1], link: /^master_link_status:(\w+)/m.exec(info)?.[1] }
}

/** Starts the setup and resolves once the replica is in sync and every sentinel knows the replica and the others. */
export const startRedisSentinel = async (options: { name?: string } = {}): Promise<RedisSentinelSetup> => {
  const binary = findRedisServer()
  if (binary === undefined) throw new Error('redis-server is not on the PATH')
  const name = options.name ?? 'sms-hook'
  const servers: RedisServer[] = []
  const sentinels: Sentinel[] = []
  const stop = async () => {
    await Promise.all(sentinels.map((sentinel) => sentinel.stop()))
    await Promise.all(servers.map((server) => server.stop()))
  }
  try {
    const master = await startRedisServer({ binary })
    servers.push(master)
    const replica = await startRedisServer({ binary, args: ['--replicaof', '127.0.0.1', String(master.port)] })
    servers.push(replica)
    await until('the replica to sync with the master', async () => (await role(replica.port)).link === 'up', SYNC_POLLS)
    for (let i = 0; i < SENTINELS; i++) sentinels.push(await startSentinel(binary, name, master.port))
    // A failover needs a majority of the sentinels to know each other, and a replica they know of.
    await until(
      'every sentinel to know the replica and the other sentinels',
      async () => {
        for (const sentinel of sentinels) {
          const fields = await sentinelFields(sentinel.port, 'MASTER', name)
          if (fields['num-other-sentinels'] !== String(SENTINELS - 1) || fields['num-slaves'] !== '1') return false
          const [known] = (await onNode(sentinel.port, (redis) => redis.call('SENTINEL', 'REPLICAS', name))) as string[][]
          const flags = known?.[known.indexOf('flags') + 1]
          if (flags !== 'slave') return false
        }
        return true
      },
      DISCOVERY_POLLS,
    )

    let killed = false
    const masterPort = async () => {
      for (const sentinel of sentinels) {
        const port = await masterAddress(sentinel.port, name).catch(() => undefined)
        if (port !== undefined) return port
      }
      throw new Error('no sentinel names a master')
    }
    return {
      url: `redis+sentinel://${sentinels.map((sentinel) => `127.0.0.1:${sentinel.port}`).join(',')}/${name}`,
      name,
      masterPort,
      async killMaster() {
        // With one replica, the first failover leaves none to promote.
        if (killed) throw new Error('the master was killed already: no replica is left to promote')
        if ((await masterPort()) !== master.port) throw new Error('the sentinels name another master than the one started')
        killed = true
        await master.kill()
        await until(
          `the sentinels to promote ${replica.port} after ${master.port} was killed`,
          async () => {
            for (const sentinel of sentinels) {
              if ((await masterAddress(sentinel.port, name)) !== replica.port) return false
            }
            return (await role(replica.port)).role === 'master'
          },
          FAILOVER_POLLS,
        )
        return replica.port
      },
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}
