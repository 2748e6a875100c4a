/**
 * A real Redis Cluster for the tests: six `redis-server` processes (three masters, one replica each) on free
 * loopback ports, each in its own temporary directory and persisting nothing, joined by `redis-cli --cluster
 * create`. The helpers move a slot and fail a master over the way an operator or a crash would, so that clients
 * meet ASK, MOVED and a promoted replica as they do in production. Every wait is bounded and says what it waited for.
 */
import { execFile } from 'node:child_process'
import { Redis } from 'ioredis'
import { startRedisServer, type RedisServer } from './redis.js'

export interface ClusterNode {
  port: number
  /** The node's cluster id (40 hex digits), as `CLUSTER NODES` names it. */
  id: string
}

export interface RedisCluster {
  /** `redis+cluster://` with three of the nodes as seeds. */
  url: string
  /** Every node started, alive or killed. */
  nodes: readonly ClusterNode[]
  /** The masters that own slots, as a live node sees the cluster now. */
  masters(): Promise<ClusterNode[]>
  /** The replicas of live masters, as a live node sees the cluster now. */
  replicas(): Promise<ClusterNode[]>
  /** The master that owns `slot` now. */
  nodeForSlot(slot: number): Promise<ClusterNode>
  /** `CLUSTER KEYSLOT`: the slot the server puts `key` in (hash tags included). */
  keySlot(key: string): Promise<number>
  /**
   * A string from `candidate` whose hash tag puts it in `slot` (asked of the server in batches), so that a test
   * can aim a key of its own at the slot it moves or fails over.
   */
  keyInSlot(slot: number, candidate: () => string): Promise<string>
  /** Every key on the live masters that matches the `SCAN` pattern. */
  keys(pattern: string): Promise<string[]>
  /**
   * Moves `slot` to the master `to` as `redis-cli --cluster reshard` does: IMPORTING on the target, MIGRATING on
   * the source, the slot's keys moved with MIGRATE, then `SETSLOT NODE` on every master. `whileMigrating` runs
   * once the keys are on the target but the slot still belongs to the source, when clients are sent on with ASK.
   */
  reshardSlot(slot: number, to: ClusterNode, options?: { whileMigrating?: () => Promise<void> }): Promise<void>
  /**
   * Makes a replica of `master` the master of its slots and resolves with it once every live node agrees:
   * `kill` (the default) kills the master's process, as a crash would; `manual` asks the replica for
   * `CLUSTER FAILOVER`, as an operator would, and the old master becomes its replica.
   */
  failover(master: ClusterNode, options?: { mode?: 'kill' | 'manual' }): Promise<ClusterNode>
  /** SIGKILL of one node's process. */
  kill(node: ClusterNode): Promise<void>
  /**
   * Starts a killed node again on its port, with the cluster state it had saved: a master that was failed over
   * comes back as a replica of the one that replaced it. Resolves once the cluster has settled.
   */
  restart(node: ClusterNode): Promise<void>
  /** Kills every node and removes their directories. */
  stop(): Promise<void>
}

/** How often the waits look again, and how many times at most. */
const POLL_MS = 100
const CLUSTER_OK_POLLS = 150
const FAILOVER_POLLS = 150
/** 40 batches of 5000 candidates: a slot is one in 16384, so all of them missing it is as likely as 5 in a million. */
const SLOT_BATCHES = 40
const SLOT_BATCH = 5000

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Runs `check` until it returns true, at most `polls` times `POLL_MS` apart; throws naming `what` otherwise (a
 * function, to say what was seen last).
 */
export const until = async (what: string | (() => string), check: () => Promise<boolean>, polls: number) => {
  let last: unknown
  for (let i = 0; i < polls; i++) {
    try {
      if (await check()) return
      last = undefined
    } catch (error) {
      last = error
    }
    await sleep(POLL_MS)
  }
  const why = last === undefined ? '' : ` (last error: ${last instanceof Error ? last.message : String(last)})`
  throw new Error(`${typeof what === 'string' ? what : what()}: not within ${(polls * POLL_MS) / 1000} s${why}`)
}

/**
 * One command on one node over a connection of its own, closed after: a node may have been killed, and a
 * connection that reconnects in the background would outlive the rig.
 */
export const onNode = async <T>(port: number, run: (redis: Redis) => Promise<T>, password?: string): Promise<T> => {
  const redis = new Redis({
    host: '127.0.0.1',
    port,
    password,
    lazyConnect: true,
    connectTimeout: 1000,
    commandTimeout: 5000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  })
  redis.on('error', () => {})
  try {
    await redis.connect()
    return await run(redis)
  } finally {
    redis.disconnect()
  }
}

const infoField = (info: string, field: string) => new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim()

type Call = (port: number, ...args: (string | number)[]) => Promise<unknown>

interface NodeLine {
  id: string
  port: number
  flags: string[]
  masterId: string | undefined
  linkState: string
  slots: string[]
}

/** `CLUSTER NODES` as one node sees the cluster. */
const clusterNodes = async (call: Call, port: number): Promise<NodeLine[]> => {
  const text = (await call(port, 'CLUSTER', 'NODES')) as string
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id, address, flags, master, , , , linkState, ...slots] = line.split(' ')
      return {
        id: id!,
        port: Number(/:(\d+)@/.exec(address!)?.[1]),
        flags: flags!.split(','),
        masterId: master === '-' ? undefined : master,
        linkState: linkState!,
        slots,
      }
    })
}

const execFileText = (file: string, args: string[], timeoutMs: number) =>
  new Promise<string>((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')} failed: ${error.message}\n${stdout}\n${stderr}`))
      else resolve(stdout)
    })
  })

/**
 * Starts the cluster and resolves once every node reports `cluster_state:ok` and every replica is in sync. With
 * `password`, every node requires it (replicas too, of their masters) and `url` carries it; with `user` as well,
 * every node has that ACL user too, and `url` carries its name and password instead.
 */
export const startRedisCluster = async (
  options: { password?: string; user?: { name: string; password: string } } = {},
): Promise<RedisCluster> => {
  const { password, user } = options
  const on = <T>(port: number, run: (redis: Redis) => Promise<T>) => onNode(port, run, password)
  const call: Call = (port, ...args) =>
    on(port, (redis) => redis.call(args[0] as string, ...args.slice(1)) as Promise<unknown>)
  const auth = [
    ...(password === undefined ? [] : ['--requirepass', password, '--masterauth', password]),
    ...(user === undefined ? [] : ['--user', user.name, 'on', `>${user.password}`, '~*', '&*', '+@all']),
  ]
  const servers: RedisServer[] = []
  const stopAll = () => Promise.all(servers.map((server) => server.stop()))
  try {
    for (let i = 0; i < 6; i++) {
      // The cluster's state file is written into the server's own directory (`--dir`), one per node.
      servers.push(
        await startRedisServer({
          args: [
            ...['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '1000'],
            // A master waits 5 s by default before a full sync, for more replicas to share it: each has one.
            ...['--repl-diskless-sync-delay', '0'],
            ...auth,
          ],
        }),
      )
    }
    await execFileText(
      'redis-cli',
      [
        ...(password === undefined ? [] : ['-a', password, '--no-auth-warning']),
        ...[
          '--cluster',
          'create',
          ...servers.map((s) => `127.0.0.1:${s.port}`),
          '--cluster-replicas',
          '1',
          '--cluster-yes',
        ],
      ],
      30_000,
    )
    const nodes: ClusterNode[] = []
    for (const server of servers)
      nodes.push({ port: server.port, id: (await call(server.port, 'CLUSTER', 'MYID')) as string })
    const alive = new Set(nodes.map((node) => node.port))
    const serverOf = (node: ClusterNode) => servers.find((server) => server.port === node.port)!
    const aliveNodes = () => nodes.filter((node) => alive.has(node.port))

    const view = async () => {
      for (const node of aliveNodes()) {
        try {
          return await clusterNodes(call, node.port)
        } catch {
          // Being killed: ask the next one.
        }
      }
      throw new Error('no live cluster node answers')
    }
    const asNode = (line: NodeLine) => nodes.find((node) => node.id === line.id)!
    const isLive = (line: NodeLine) =>
      alive.has(line.port) && !line.flags.includes('fail') && !line.flags.includes('fail?')
    const masters = async () =>
      (await view())
        .filter((line) => line.flags.includes('master') && line.slots.length > 0 && isLive(line))
        .map(asNode)
    const replicas = async () =>
      (await view()).filter((line) => line.flags.includes('slave') && isLive(line)).map(asNode)
    const nodeForSlot = async (slot: number) => {
      const slots = (await on(aliveNodes()[0]!.port, (redis) => redis.call('CLUSTER', 'SLOTS'))) as [
        number,
        number,
        [string, number, string],
      ][]
      const range = slots.find(([from, to]) => from <= slot && slot <= to)
      if (range === undefined) throw new Error(`no master owns slot ${slot}`)
      return nodes.find((node) => node.id === range[2][2])!
    }

    /** Every live node says the cluster is ok and sees the same masters, and every replica has synced. */
    const settled = async () => {
      const live = aliveNodes()
      for (const node of live) {
        const info = (await call(node.port, 'CLUSTER', 'INFO')) as string
        if (infoField(info, 'cluster_state') !== 'ok') return false
      }
      const seen = await Promise.all(live.map((node) => clusterNodes(call, node.port)))
      const masterIds = (lines: NodeLine[]) =>
        lines
          .filter((line) => line.flags.includes('master') && line.slots.length > 0)
          .map((line) => line.id)
          .sort()
          .join()
      if (new Set(seen.map(masterIds)).size !== 1) return false
      for (const line of seen[0]!) {
        if (!alive.has(line.port) || !line.flags.includes('slave')) continue
        const replication = (await on(line.port, (redis) => redis.info('replication'))) as string
        if (infoField(replication, 'master_link_status') !== 'up') return false
      }
      return true
    }
    await until('the new cluster to report cluster_state:ok on every node', settled, CLUSTER_OK_POLLS)

    const kill = async (node: ClusterNode) => {
      alive.delete(node.port)
      await serverOf(node).kill()
    }

    return {
      url: `redis+cluster://${credentials(password, user)}${nodes
        .slice(0, 3)
        .map((node) => `127.0.0.1:${node.port}`)
        .join(',')}`,
      nodes,
      masters,
      replicas,
      nodeForSlot,
      keySlot: async (key) => (await call(aliveNodes()[0]!.port, 'CLUSTER', 'KEYSLOT', key)) as number,
      keyInSlot: (slot, candidate) =>
        on(aliveNodes()[0]!.port, async (redis) => {
          for (let batch = 0; batch < SLOT_BATCHES; batch++) {
            const keys = Array.from({ length: SLOT_BATCH }, candidate)
            const pipeline = redis.pipeline()
            for (const key of keys) pipeline.call('CLUSTER', 'KEYSLOT', key)
            const slots = (await pipeline.exec()) ?? []
            const found = slots.findIndex(([error, value]) => error === null && value === slot)
            if (found >= 0) return keys[found]!
          }
          throw new Error(`no candidate key fell in slot ${slot} after ${SLOT_BATCHES * SLOT_BATCH} tries`)
        }),
      async keys(pattern) {
        const found: string[] = []
        for (const master of await masters()) {
          await on(master.port, async (redis) => {
            let cursor = '0'
            do {
              const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
              found.push(...batch)
              cursor = next
            } while (cursor !== '0')
          })
        }
        return found
      },
      async reshardSlot(slot, to, options = {}) {
        const from = await nodeForSlot(slot)
        if (from.id === to.id) throw new Error(`slot ${slot} is already on ${to.port}`)
        await call(to.port, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', from.id)
        await call(from.port, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', to.id)
        const migrate = async () => {
          // A batch at a time, as redis-cli does; bounded, since clients may keep adding keys to the slot.
          for (let batch = 0; batch < 100; batch++) {
            const keys = (await call(from.port, 'CLUSTER', 'GETKEYSINSLOT', slot, 100)) as string[]
            if (keys.length === 0) return
            const migrateAuth = password === undefined ? [] : ['AUTH', password]
            await call(from.port, 'MIGRATE', '127.0.0.1', to.port, '', 0, 5000, ...migrateAuth, 'KEYS', ...keys)
          }
          throw new Error(`slot ${slot} kept keys on ${from.port} after 100 MIGRATE batches`)
        }
        await migrate()
        await options.whileMigrating?.()
        // Keys a client wrote to the source meanwhile (keys that were still there) go too.
        await migrate()
        // The target first, so that it never answers MOVED back to the source for a slot it is importing.
        await call(to.port, 'CLUSTER', 'SETSLOT', slot, 'NODE', to.id)
        await call(from.port, 'CLUSTER', 'SETSLOT', slot, 'NODE', to.id)
        for (const master of await masters()) {
          if (master.id !== to.id && master.id !== from.id)
            await call(master.port, 'CLUSTER', 'SETSLOT', slot, 'NODE', to.id)
        }
        await until(
          `slot ${slot} to be on ${to.port} for every live node`,
          async () => {
            for (const node of aliveNodes()) {
              const owner = (await clusterNodes(call, node.port)).find((line) =>
                line.slots.some((range) => inRange(range, slot)),
              )
              if (owner?.id !== to.id) return false
            }
            return true
          },
          CLUSTER_OK_POLLS,
        )
      },
      async failover(master, options = {}) {
        const replica = (await view()).find((line) => line.masterId === master.id && isLive(line))
        if (replica === undefined) throw new Error(`master ${master.port} has no live replica to promote`)
        if ((options.mode ?? 'kill') === 'kill') {
          await kill(master)
        } else {
          await call(replica.port, 'CLUSTER', 'FAILOVER')
        }
        await until(
          `replica ${replica.port} to take over from master ${master.port}`,
          async () => {
            for (const node of aliveNodes()) {
              const line = (await clusterNodes(call, node.port)).find((l) => l.id === replica.id)
              if (line === undefined || !line.flags.includes('master') || line.slots.length === 0) return false
            }
            return settled()
          },
          FAILOVER_POLLS,
        )
        return asNode(replica)
      },
      kill,
      async restart(node) {
        if (alive.has(node.port)) throw new Error(`node ${node.port} is running`)
        await serverOf(node).start()
        alive.add(node.port)
        await until(
          `node ${node.port} to rejoin the cluster`,
          async () => {
            for (const other of aliveNodes()) {
              const line = (await clusterNodes(call, other.port)).find((l) => l.id === node.id)
              if (line === undefined || !isLive(line)) return false
            }
            return settled()
          },
          CLUSTER_OK_POLLS,
        )
      },
      stop: async () => {
        alive.clear()
        await stopAll()
      },
    }
  } catch (error) {
    await stopAll()
    throw error
  }
}

/** The `user:password@` of a URL: the ACL user's when there is one, else the default user's password alone. */
export const credentials = (password: string | undefined, user: { name: string; password: string } | undefined) => {
  if (user !== undefined) return `${encodeURIComponent(user.name)}:${encodeURIComponent(user.password)}@`
  return password === undefined ? '' : `:${encodeURIComponent(password)}@`
}

/** Whether a `CLUSTER NODES` slot entry (`5`, `0-5460`, or an `[5->-id]` migration mark) holds `slot`. */
const inRange = (range: string, slot: number) => {
  if (range.startsWith('[')) return false
  const [from, to = from] = range.split('-').map(Number)
  return from! <= slot && slot <= to!
}
