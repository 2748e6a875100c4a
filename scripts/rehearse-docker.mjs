#!/usr/bin/env node
/**
 * Rehearses the Dockerfile where no Docker engine runs: each of its instructions is carried out here, in clean
 * folders, as Docker would - the build context filtered by .dockerignore, one folder per stage standing for its
 * filesystem, RUN through `sh -c` in WORKDIR with the stage's ENV, COPY --from between stages. The final stage is
 * then checked (no dev dependencies, no sources, NODE_ENV, a non-root USER), started with its CMD, probed with
 * its HEALTHCHECK and stopped with SIGTERM, which must end it cleanly. An instruction it does not know stops the
 * rehearsal, so the Dockerfile cannot grow a step that is never rehearsed.
 *
 * Not rehearsed: the base image and the user switch itself (run as root, the server runs as `nobody`, who owns
 * nothing in the app folder, like the image's `node` user). What runs inside the image (RUN, CMD, HEALTHCHECK)
 * runs on this host's Node, so it is rehearsed only when that has the image's major version; on another, those
 * steps are skipped, each said so, and the rest is checked.
 *
 * Usage: node scripts/rehearse-docker.mjs [--keep]     (npm run rehearse:docker)
 * REHEARSE_NODE_MAJOR=NN stands for this host's Node major version, to test the skipping.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, posix, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const STEP_TIMEOUT_MS = 5 * 60_000
const NODE_MAJOR = process.env.REHEARSE_NODE_MAJOR || process.versions.node.split('.')[0]

const step = (message) => console.log(`rehearse-docker: ${message}`)
const fail = (message) => {
  throw new Error(`rehearse-docker: ${message}`)
}
/** What could not be rehearsed on this host, for the last line. */
const skipped = []
const skip = (what, why) => {
  skipped.push(what)
  step(`skipped: ${what} (${why})`)
}

/** Instructions with their arguments, continuation lines joined and comments dropped. */
const parseDockerfile = (text) =>
  text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [, keyword, args] = /^(\S+)\s*(.*)$/.exec(line)
      return { keyword: keyword.toUpperCase(), args }
    })

/** .dockerignore as Docker reads it: the last matching pattern wins, `!` re-includes, a match covers what is below. */
const contextFilter = (text) => {
  const rules = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const include = line.startsWith('!')
      const pattern = posix.normalize(line.slice(include ? 1 : 0)).replace(/^\/|\/$/g, '')
      const source = pattern
        .split('/')
        .map((part) => part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*/g, '\0').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]'))
        .join('/')
        .replace(/\0/g, '.*')
      return { include, pattern, regex: new RegExp(`^${source}(/.*)?$`) }
    })
  const included = (path) => rules.reduce((inside, rule) => (rule.regex.test(path) ? rule.include : inside), true)
  const mayHoldIncluded = (dir) => rules.some((rule) => rule.include && rule.pattern.startsWith(`${dir}/`))
  return { included, mayHoldIncluded }
}

/** Copies the build context: every file under the project that .dockerignore lets through. */
const copyContext = (to) => {
  const ignore = existsSync(join(ROOT, '.dockerignore')) ? readFileSync(join(ROOT, '.dockerignore'), 'utf8') : ''
  const { included, mayHoldIncluded } = contextFilter(ignore)
  const walk = (dir) => {
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const path = dir ? `${dir}/${entry.name}` : entry.name
      if (entry.isDirectory()) {
        if (included(path) || mayHoldIncluded(path)) walk(path)
      } else if (included(path)) {
        mkdirSync(join(to, dir), { recursive: true })
        cpSync(join(ROOT, path), join(to, path))
      }
    }
  }
  walk('')
}

const jsonArgv = (text, what) => {
  let argv
  try {
    argv = JSON.parse(text)
  } catch {
    fail(`${what} must be in exec form (a JSON array), so that no shell stands between Docker and the process`)
  }
  if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== 'string')) fail(`${what}: bad exec form`)
  return argv
}

/** `KEY=value ...` or the legacy `KEY value`. */
const parseEnv = (args) => {
  if (!/^\S+=/.test(args)) {
    const [, key, value] = /^(\S+)\s+(.*)$/.exec(args)
    return { [key]: value }
  }
  return Object.fromEntries([...args.matchAll(/(\S+?)=("(?:[^"\\]|\\.)*"|\S*)/g)].map(([, k, v]) => [k, v.startsWith('"') ? JSON.parse(v) : v]))
}

/**
 * A build cache mount is a folder that outlives builds and is in no layer: the host's npm cache plays that part
 * for `/root/.npm`, linked into the stage. npm only adds to it.
 */
const mountCache = (stage, options) => {
  const fields = Object.fromEntries(options.split(',').map((field) => field.split('=')))
  if (fields.type !== 'cache' || fields.target !== '/root/.npm') fail(`--mount=${options}: only the npm cache mount is rehearsed`)
  const cache = execFileSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8' }).trim()
  mkdirSync(cache, { recursive: true })
  const target = join(stage.root, fields.target)
  if (!existsSync(target)) symlinkSync(cache, target)
}

/** Runs every instruction; returns the final stage. */
const build = (instructions, work) => {
  const context = join(work, 'context')
  copyContext(context)
  step(`context: ${readdirSync(context).sort().join(', ')}`)
  const stages = []
  let stage
  for (const { keyword, args } of instructions) {
    if (keyword !== 'FROM' && !stage) fail(`${keyword} before FROM`)
    switch (keyword) {
      case 'FROM': {
        const [, image, name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args) ?? fail(`FROM ${args}`)
        const major = /^node:(\d+)\b/.exec(image)?.[1] ?? fail(`FROM ${image}: only node:<major> images are rehearsed`)
        stage = {
          name,
          root: join(work, `stage-${stages.length}`),
          env: {},
          workdir: '/',
          user: 'root',
          healthcheck: undefined,
          cmd: undefined,
          major,
          // Whether its programs can run here, on this host's Node; and whether every step of it was carried out.
          runs: major === NODE_MAJOR,
          complete: true,
        }
        mkdirSync(stage.root, { recursive: true })
        stages.push(stage)
        step(`FROM ${image}${name ? ` AS ${name}` : ''}${stage.runs ? '' : `: Node ${major} in the image, Node ${NODE_MAJOR} here`}`)
        break
      }
      case 'WORKDIR':
        stage.workdir = posix.resolve(stage.workdir, args)
        mkdirSync(join(stage.root, stage.workdir), { recursive: true })
        break
      case 'ENV':
        Object.assign(stage.env, parseEnv(args))
        break
      case 'COPY': {
        const parts = args.split(/\s+/)
        const from = parts[0].startsWith('--from=') ? parts.shift().slice('--from='.length) : undefined
        if (parts.some((p) => p.startsWith('--'))) fail(`COPY ${args}: unknown option`)
        const dest = parts.pop()
        const source = from === undefined ? undefined : stages.find((s) => s.name === from) ?? fail(`COPY --from=${from}: no such stage`)
        if (source && !source.complete) {
          skip(`COPY ${args}`, `stage ${from} was not built`)
          stage.complete = false
          break
        }
        const destPath = join(stage.root, posix.resolve(stage.workdir, dest))
        for (const src of parts) {
          const srcPath = source ? join(source.root, posix.resolve(source.workdir, src)) : join(context, src)
          if (!existsSync(srcPath)) fail(`COPY ${src}: not in the ${source ? `stage ${from}` : 'build context'}`)
          const into = statSync(srcPath).isFile() && (dest.endsWith('/') || parts.length > 1) ? join(destPath, posix.basename(src)) : destPath
          mkdirSync(dirname(into), { recursive: true })
          cpSync(srcPath, into, { recursive: true })
        }
        step(`COPY ${args}`)
        break
      }
      case 'RUN': {
        if (!stage.runs) {
          skip(`RUN ${args}`, `it needs the image's Node ${stage.major}`)
          stage.complete = false
          break
        }
        step(`RUN ${args}`)
        const [, mounts = '', command] = /^((?:--mount=\S+\s+)*)(.*)$/.exec(args)
        // RUN runs as root with HOME=/root, inside the stage.
        const home = join(stage.root, 'root')
        mkdirSync(home, { recursive: true })
        for (const [, options] of mounts.matchAll(/--mount=(\S+)/g)) mountCache(stage, options)
        const run = spawnSync('sh', ['-c', command], {
          cwd: join(stage.root, stage.workdir),
          env: { PATH: process.env.PATH, HOME: home, ...stage.env },
          stdio: 'inherit',
          timeout: STEP_TIMEOUT_MS,
        })
        if (run.status !== 0) fail(`RUN ${command}: exit ${run.status ?? run.signal}`)
        break
      }
      case 'USER':
        stage.user = args
        break
      case 'EXPOSE':
        break
      case 'HEALTHCHECK': {
        const [, command] = /^(?:--\S+\s+)*CMD\s+(.*)$/.exec(args) ?? fail(`HEALTHCHECK ${args}: expected CMD [...]`)
        stage.healthcheck = jsonArgv(command, 'HEALTHCHECK')
        break
      }
      case 'CMD':
        stage.cmd = jsonArgv(args, 'CMD')
        break
      default:
        fail(`${keyword}: not an instruction this rehearsal knows; teach it before using it`)
    }
  }
  return stages.at(-1)
}

/** What the final image must and must not hold. */
const inspect = (image) => {
  const app = join(image.root, image.workdir)
  if (image.complete) {
    // The lockfile marks what only development needs (a dev dependency that a production one also uses is not).
    const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8'))
    const dev = Object.entries(lock.packages)
      .filter(([path, entry]) => entry.dev && path && existsSync(join(app, path)))
      .map(([path]) => path.replace(/^.*node_modules\//, ''))
    if (dev.length > 0) fail(`dev dependencies in the final image: ${dev.join(', ')}`)
    if (!existsSync(join(app, 'build/node/main.js'))) fail('build/node/main.js is missing')
    if (existsSync(join(app, 'build/worker.js'))) fail('the Workers entry was built into the image')
  } else {
    skip("the final image's dependencies and build", 'its steps were not all carried out')
  }
  const sources = ['src', 'test', 'tsconfig.json', '.git'].filter((name) => existsSync(join(app, name)))
  if (sources.length > 0) fail(`dev files in the final image: ${sources.join(', ')}`)
  if (image.env.NODE_ENV !== 'production') fail('ENV NODE_ENV=production is missing')
  if (['root', '0'].includes(image.user.split(':')[0])) fail('the final stage runs as root')
  if (!image.healthcheck) fail('no HEALTHCHECK')
  if (image.cmd?.[0] !== 'node') fail(`CMD must start node itself, so that SIGTERM reaches it; got ${JSON.stringify(image.cmd)}`)
  const packages = existsSync(join(app, 'node_modules')) ? `; ${readdirSync(join(app, 'node_modules')).length} production packages` : ''
  step(`final image: ${readdirSync(app).sort().join(', ')}${packages}`)
}

const freePort = () =>
  new Promise((resolvePort) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolvePort(port))
    })
  })

/** As root, the server runs as `nobody`: like the image's `node` user, it owns nothing in the app folder. */
const unprivileged = (argv) => {
  if (process.getuid?.() !== 0) return argv
  const setpriv = spawnSync('setpriv', ['--version'])
  if (setpriv.status !== 0) fail('running as root without setpriv: cannot drop privileges as USER would')
  return ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--', ...argv]
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** CMD, HEALTHCHECK and SIGTERM, as `docker run` and `docker stop` would exercise them. */
const run = async (image, work) => {
  const cwd = join(image.root, image.workdir)
  for (let dir = cwd; dir.startsWith(work); dir = dirname(dir)) chmodSync(dir, 0o755)
  const port = await freePort()
  const env = {
    PATH: process.env.PATH,
    ...image.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    GOTRUE_HOOK_SEND_SMS_SECRETS: `v1,whsec_${randomBytes(32).toString('base64')}`,
    // The Alibaba Cloud provider loads the official SDK at start-up (its default transport on Node), so a
    // production dependency missing from the image shows here; nothing is sent, so nothing reaches Aliyun.
    GOTRUE_SMS_PROVIDER: 'aliyun',
    GOTRUE_SMS_ALIYUN_ACCESS_KEY_ID: 'LTAI-rehearsal',
    GOTRUE_SMS_ALIYUN_ACCESS_KEY_SECRET: 'rehearsal',
    GOTRUE_SMS_ALIYUN_SIGN_NAME: 'rehearsal',
    GOTRUE_SMS_ALIYUN_TEMPLATE_CODE: 'SMS_0',
  }
  const healthcheck = () => spawnSync(image.healthcheck[0], image.healthcheck.slice(1), { cwd, env, timeout: 5000 }).status

  if (healthcheck() === 0) fail('HEALTHCHECK passes with no server running: it checks nothing')
  const argv = unprivileged(image.cmd)
  step(`CMD ${JSON.stringify(image.cmd)} on port ${port}${argv === image.cmd ? '' : ' as nobody'}`)
  const server = spawn(argv[0], argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  server.stdout.on('data', (chunk) => (output += chunk))
  server.stderr.on('data', (chunk) => (output += chunk))
  const exited = new Promise((resolveExit) => server.on('exit', (code, signal) => resolveExit({ code, signal })))

  try {
    const until = Date.now() + 20_000
    while (healthcheck() !== 0) {
      if (server.exitCode !== null || Date.now() > until) fail(`the server never became healthy:\n${output}`)
      await sleep(200)
    }
    step('HEALTHCHECK passes')
    const health = await fetch(`http://127.0.0.1:${port}/healthz`)
    const body = await health.text()
    if (health.status !== 200 || body !== '{"status":"ok"}') fail(`GET /healthz answered ${health.status} ${body}`)
    if (!/"msg":"listening".*"mode":"production".*"provider":"aliyun"/.test(output)) fail(`no start-up line in production:\n${output}`)

    server.kill('SIGTERM')
    const result = await Promise.race([exited, sleep(10_000).then(() => undefined)])
    if (!result) fail('SIGTERM did not stop the server within 10 s')
    if (result.code !== 0) fail(`after SIGTERM the server exited with ${result.code ?? result.signal}:\n${output}`)
    if (!output.includes('shutting down')) fail(`the server did not shut down gracefully:\n${output}`)
    step('SIGTERM: graceful shutdown, exit 0')
  } finally {
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL')
  }
}

const main = async () => {
  const keep = process.argv.includes('--keep')
  const work = mkdtempSync(join(tmpdir(), 'sms-hook-docker-'))
  try {
    const image = build(parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')), work)
    inspect(image)
    if (image.runs && image.complete) await run(image, work)
    else skip('starting the image (CMD, HEALTHCHECK, SIGTERM)', `it needs the image's Node ${image.major}`)
    step(skipped.length === 0 ? 'passed' : `passed what Node ${NODE_MAJOR} can check; ${skipped.length} steps skipped, listed above`)
  } finally {
    if (keep) step(`kept ${relative(process.cwd(), work) || work}`)
    else rmSync(work, { recursive: true, force: true })
  }
}

try {
  await main()
} catch (error) {
  console.error(error instanceof Error ? error.message : error)
  process.exitCode = 1
}
