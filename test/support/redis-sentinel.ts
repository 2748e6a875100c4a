/**
 * A real Sentinel setup for the tests: one master, one replica of it, and three sentinels (quorum 2) watching
 * them, each a process on a free loopback port with its own temporary directory, persisting nothing. Sentinels
 * rewrite their configuration as they learn the setup, so each has its own writable file. `killMaster` crashes
 * the master the way an OOM kill would and waits for the sentinels to promote the replica; `reviveOldMaster`
 * brings the crashed one back as the new master's replica.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { credentials, onNode, until } from './redis-cluster.js'
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
  /**
   * `SENTINEL FAILOVER`, as an operator would ask for: the sentinels promote the replica while the old master
   * runs on. Until it is made a replica (the sentinels take some 10 s; done here at once after `whileSplit`),
   * it still takes writes from the clients that stay with it. Resolves with the new master's port once the old
   * one is in sync with it.
   */
  failover(options?: { whileSplit?: (ports: { demoted: number; promoted: number }) => Promise<void> }): Promise<number>
  /**
   * Starts the killed master again as a replica of the new one, and resolves once it is in sync and every
   * sentinel sees it: the setup can fail over once more.
   */
  reviveOldMaster(): Promise<void>
  /** SIGKILL of one sentinel, by its place in `url`. */
  killSentinel(index: number): Promise<void>
  /** Stops every process and removes their directories. */
  stop(): Promise<void>
}

const SENTINELS = 3
/** A master waits 5 s by default before a full sync, for more replicas to share it: here there is only one. */
const IMMEDIATE_SYNC = ['--repl-diskless-sync-delay', '0']
const SYNC_POLLS = 100
/** Sentinels say hello to each other every 2 s through the master, and a failover takes a few seconds more. */
const DISCOVERY_POLLS = 150
const FAILOVER_POLLS = 200

interface Sentinel {
  port: number
  kill(): Promise<void>
  stop(): Promise<void>
}

/** One `redis-server <conf> --sentinel`, resolved once it answers PING. */
const startSentinel = async (
  binary: string,
  name: string,
  masterPort: number,
  password?: string,
): Promise<Sentinel> => {
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
      // Quoted: a password may hold spaces, and the configuration reads double-quoted strings with escapes.
      ...(password === undefined ? [] : [`sentinel auth-pass ${name} ${JSON.stringify(password)}`]),
      '',
    ].join('\n'),
  )
  let output = ''
  const child: ChildProcess = spawn(binary, [conf, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)))
  child.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)))
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
  }
  const stop = async () => {
    await kill()
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
  return { port, kill, stop }
}

/** `SENTINEL <args>` on one sentinel, its reply as flat field/value pairs made an object. */
const sentinelFields = async (port: number, ...args: string[]) => {
  const reply = (await onNode(port, (redis) => redis.call('SENTINEL', ...args))) as string[]
  const fields: Record<string, string> = {}
  for (let i = 0; i + 1 < reply.length; i += 2) fields[reply[i]!] = reply[i + 1]!
  return fields
}

const masterAddress = async (port: number, name: string) => {
  const reply = (await onNode(port, (redis) => redis.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name))) as
    [string, string] | null
  return reply === null ? undefined : Number(reply[1])
}

const role = async (port: number, password: string | undefined) => {
  const info = await onNode(port, (redis) => redis.info('replication'), password)
  return { role: /^role:(\w+)/m.exec(info)?.[1], link: /^master_link_status:(\w+)/m.exec(info)?.[1] }
}

/**
 * Starts the setup and resolves once the replica is in sync and every sentinel knows the replica and the others.
 * With `password`, the master and the replica require it (and the sentinels know it); `url` carries it. With
 * `user` as well, both have that ACL user too, and `url` carries its name and password instead. The sentinels
 * themselves require none.
 */
export const startRedisSentinel = async (
  options: { name?: string; password?: string; user?: { name: string; password: string } } = {},
): Promise<RedisSentinelSetup> => {
  const binary = findRedisServer()
  if (binary === undefined) throw new Error('redis-server is not on the PATH')
  const name = options.name ?? 'sms-hook'
  const { password, user } = options
  const args = [
    ...IMMEDIATE_SYNC,
    ...(password === undefined ? [] : ['--requirepass', password, '--masterauth', password]),
    ...(user === undefined ? [] : ['--user', user.name, 'on', `>${user.password}`, '~*', '&*', '+@all']),
  ]
  const servers: RedisServer[] = []
  const sentinels: Sentinel[] = []
  const stop = async () => {
    await Promise.all(sentinels.map((sentinel) => sentinel.stop()))
    await Promise.all(servers.map((server) => server.stop()))
  }
  try {
    const master = await startRedisServer({ binary, args })
    servers.push(master)
    const replica = await startRedisServer({ binary, args: [...args, '--replicaof', '127.0.0.1', String(master.port)] })
    servers.push(replica)
    await until(
      'the replica to sync with the master',
      async () => (await role(replica.port, password)).link === 'up',
      SYNC_POLLS,
    )
    for (let i = 0; i < SENTINELS; i++) sentinels.push(await startSentinel(binary, name, master.port, password))
    // A failover needs a majority of the sentinels to know each other, and a replica they know of.
    await until(
      'every sentinel to know the replica and the other sentinels',
      async () => {
        for (const sentinel of sentinels) {
          const fields = await sentinelFields(sentinel.port, 'MASTER', name)
          if (fields['num-other-sentinels'] !== String(SENTINELS - 1) || fields['num-slaves'] !== '1') return false
          const [known] = (await onNode(sentinel.port, (redis) =>
            redis.call('SENTINEL', 'REPLICAS', name),
          )) as string[][]
          const flags = known?.[known.indexOf('flags') + 1]
          if (flags !== 'slave') return false
        }
        return true
      },
      DISCOVERY_POLLS,
    )

    // The server the sentinels name as master, the other one, and whether that other one is running.
    let current = master
    let standby = replica
    let standbyUp = true
    const killed = new Set<Sentinel>()
    const live = () => sentinels.filter((sentinel) => !killed.has(sentinel))
    /**
     * Makes `server` a replica of the current master, as the sentinels would themselves only after some 10 s of
     * seeing it claim to be a master (what an orchestrator restarting it with their configuration does at once),
     * and waits until it is in sync and every sentinel sees it up.
     */
    const rejoin = async (server: RedisServer) => {
      await onNode(server.port, (redis) => redis.call('REPLICAOF', '127.0.0.1', String(current.port)), password)
      await until(
        `${server.port} to sync as a replica of ${current.port}`,
        async () => (await role(server.port, password)).link === 'up',
        SYNC_POLLS,
      )
      let seen: string[] = []
      await until(
        () => `every sentinel to see ${server.port} as a replica that is up (flags seen: ${seen.join('; ')})`,
        async () => {
          seen = []
          for (const sentinel of live()) {
            const known = (await onNode(sentinel.port, (redis) =>
              redis.call('SENTINEL', 'REPLICAS', name),
            )) as string[][]
            const entry = known.find((fields) => fields[fields.indexOf('port') + 1] === String(server.port))
            seen.push(entry === undefined ? 'unknown' : entry[entry.indexOf('flags') + 1]!)
          }
          return seen.every((flags) => flags === 'slave')
        },
        DISCOVERY_POLLS,
      )
    }
    const masterPort = async () => {
      for (const sentinel of live()) {
        const port = await masterAddress(sentinel.port, name).catch(() => undefined)
        if (port !== undefined) return port
      }
      throw new Error('no sentinel names a master')
    }
    return {
      url: `redis+sentinel://${credentials(password, user)}${sentinels.map((sentinel) => `127.0.0.1:${sentinel.port}`).join(',')}/${name}`,
      name,
      masterPort,
      async killMaster() {
        if (!standbyUp) throw new Error('no replica is running to promote: revive the old master first')
        if ((await masterPort()) !== current.port)
          throw new Error(`the sentinels do not name ${current.port} as the master`)
        const [killed, promoted] = [current, standby]
        await killed.kill()
        await until(
          `the sentinels to promote ${promoted.port} after ${killed.port} was killed`,
          async () => {
            for (const sentinel of live()) {
              if ((await masterAddress(sentinel.port, name)) !== promoted.port) return false
            }
            return (await role(promoted.port, password)).role === 'master'
          },
          FAILOVER_POLLS,
        )
        ;[current, standby, standbyUp] = [promoted, killed, false]
        return promoted.port
      },
      async failover(options = {}) {
        if (!standbyUp) throw new Error('no replica is running to promote: revive the old master first')
        const [demoted, promoted] = [current, standby]
        await onNode(live()[0]!.port, (redis) => redis.call('SENTINEL', 'FAILOVER', name))
        await until(
          `the sentinels to name ${promoted.port} in place of ${demoted.port}`,
          async () => {
            for (const sentinel of live()) {
              if ((await masterAddress(sentinel.port, name)) !== promoted.port) return false
            }
            return (await role(promoted.port, password)).role === 'master'
          },
          FAILOVER_POLLS,
        )
        ;[current, standby] = [promoted, demoted]
        await options.whileSplit?.({ demoted: demoted.port, promoted: promoted.port })
        await rejoin(demoted)
        return promoted.port
      },
      async reviveOldMaster() {
        if (standbyUp) throw new Error('the old master is running already')
        await standby.start()
        standbyUp = true
        await rejoin(standby)
      },
      async killSentinel(index) {
        const sentinel = sentinels[index]
        if (sentinel === undefined) throw new Error(`there is no sentinel ${index}`)
        killed.add(sentinel)
        await sentinel.kill()
      },
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}
