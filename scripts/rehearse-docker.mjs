#!/usr/bin/env node
/**
 * Rehearses the Dockerfile where no Docker engine runs: each of its instructions is carried out here, in clean
 * folders, as Docker would - the build context filtered by .dockerignore, one folder per stage standing for its
 * filesystem, RUN through `sh -c` in WORKDIR with the stage's ENV, COPY --from between stages. The final stage is
 * then checked (no dev dependencies, no sources, NODE_ENV, a non-root USER), started with its CMD, probed with
 * its HEALTHCHECK, its `sms-hook` command run from the image's PATH, and stopped with SIGTERM, which must end it
 * cleanly. An instruction it does not know stops the rehearsal, so the Dockerfile cannot grow a step that is
 * never rehearsed.
 *
 * Not rehearsed: the base image and the user switch itself (run as root, the server runs as `nobody`, who owns
 * nothing in the app folder, like the image's `node` user). The base image's PATH is this host's, with the Node
 * that stands for the image's first. What runs inside the image (RUN, CMD, HEALTHCHECK) runs on that Node, so it
 * is rehearsed only when it has the image's major version; on another, those steps are skipped, each said so,
 * and the rest is checked.
 *
 * The server runs with the Alibaba Cloud provider and stand-in keys; GOTRUE_SMS_ALIYUN_* variables of this
 * process replace them. Only with GOTRUE_SMS_ALIYUN_ENDPOINT set (a local stand-in for Alibaba Cloud) is one hook
 * call made, with `sms-hook send-test`, as the real gateway would send a real SMS.
 *
 * Usage: node scripts/rehearse-docker.mjs [--keep] [--build-arg NAME=value ...]     (npm run rehearse:docker)
 * REHEARSE_NODE=/path/to/node: the Node that stands for the image's (default: the one running this script),
 *   e.g. Node 24 from npm: REHEARSE_NODE="$(npm exec --yes -p node@24 -- node -p process.execPath)".
 * REHEARSE_NODE_MAJOR=NN stands for that Node's major version, to test the skipping.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join, posix, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const STEP_TIMEOUT_MS = 5 * 60_000
/** The Node that stands for the image's, and its major version. */
const NODE = resolve(process.env.REHEARSE_NODE || process.execPath)
const nodeVersion = () =>
  NODE === process.execPath
    ? process.versions.node
    : execFileSync(NODE, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim()
const NODE_MAJOR = process.env.REHEARSE_NODE_MAJOR || nodeVersion().split('.')[0]

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
        .map((part) =>
          part
            .replace(/[.+^${}()|[\]\\]/g, '\\$&')
            .replace(/\*\*/g, '\0')
            .replace(/\*/g, '[^/]*')
            .replace(/\?/g, '[^/]'),
        )
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
  if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== 'string'))
    fail(`${what}: bad exec form`)
  return argv
}

/** `KEY=value ...` or the legacy `KEY value`. */
const parseEnv = (args) => {
  if (!/^\S+=/.test(args)) {
    const [, key, value] = /^(\S+)\s+(.*)$/.exec(args)
    return { [key]: value }
  }
  return Object.fromEntries(
    [...args.matchAll(/(\S+?)=("(?:[^"\\]|\\.)*"|\S*)/g)].map(([, k, v]) => [k, v.startsWith('"') ? JSON.parse(v) : v]),
  )
}

/** `$NAME` and `${NAME}` replaced as Docker does in FROM, ENV and ARG (unset: empty). */
const substitute = (text, vars) =>
  text.replace(/\$(?:\{(\w+)\}|(\w+))/g, (_, braced, bare) => vars[braced ?? bare] ?? '')

/** `--build-arg NAME=value`, as many as given. */
const buildArgs = () => {
  const args = {}
  process.argv.forEach((arg, i) => {
    if (arg !== '--build-arg') return
    const [, name, value] = /^(\w+)=(.*)$/s.exec(process.argv[i + 1] ?? '') ?? fail('--build-arg needs NAME=value')
    args[name] = value
  })
  return args
}

/**
 * The base image's PATH, which ENV PATH=...:$PATH extends: this host's, with the folder of the Node standing for
 * the image's first. A PATH entry that is not one of these is a folder of the stage.
 */
const basePath = (work) => {
  const bin = join(work, 'node', 'bin')
  mkdirSync(bin, { recursive: true })
  // A link where it can be (the Node may live under a home that `nobody` cannot enter), else a copy.
  try {
    linkSync(NODE, join(bin, 'node'))
  } catch {
    copyFileSync(NODE, join(bin, 'node'))
  }
  chmodSync(join(bin, 'node'), 0o755)
  return [bin, ...(process.env.PATH ?? '').split(delimiter)].join(delimiter)
}

/** A stage's PATH as this host finds its programs: the stage's own folders inside the stage. */
const hostPath = (stage, base) => {
  const outside = new Set(base.split(delimiter))
  return (stage.env.PATH ?? base)
    .split(delimiter)
    .map((entry) => (outside.has(entry) || !entry.startsWith('/') ? entry : join(stage.root, entry)))
    .join(delimiter)
}

/** The CA file this host's npm and Node trust, when it has one of its own: another Node's npm would not read it. */
const HOST_TRUST = (() => {
  const cafile = execFileSync('npm', ['config', 'get', 'cafile'], { encoding: 'utf8' }).trim()
  return {
    ...(cafile && cafile !== 'null' && cafile !== 'undefined' ? { npm_config_cafile: cafile } : {}),
    ...(process.env.NODE_EXTRA_CA_CERTS ? { NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS } : {}),
  }
})()

/**
 * A build cache mount is a folder that outlives builds and is in no layer: the host's npm cache plays that part
 * for `/root/.npm`, linked into the stage. npm only adds to it.
 */
const mountCache = (stage, options) => {
  const fields = Object.fromEntries(options.split(',').map((field) => field.split('=')))
  if (fields.type !== 'cache' || fields.target !== '/root/.npm')
    fail(`--mount=${options}: only the npm cache mount is rehearsed`)
  const cache = execFileSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8' }).trim()
  mkdirSync(cache, { recursive: true })
  const target = join(stage.root, fields.target)
  if (!existsSync(target)) symlinkSync(cache, target)
}

/** Runs every instruction; returns the final stage. */
const build = (instructions, work, base) => {
  const context = join(work, 'context')
  copyContext(context)
  step(`context: ${readdirSync(context).sort().join(', ')}`)
  const given = buildArgs()
  // ARG before the first FROM: for FROM lines only, unless a stage declares it again.
  const globals = {}
  const stages = []
  let stage
  for (const { keyword, args } of instructions) {
    if (keyword !== 'FROM' && keyword !== 'ARG' && !stage) fail(`${keyword} before FROM`)
    switch (keyword) {
      case 'ARG': {
        const [, name, value] = /^(\w+)(?:=(.*))?$/.exec(args) ?? fail(`ARG ${args}`)
        const vars = stage ? { ...stage.args, ...stage.env } : globals
        const declared = name in given ? given[name] : value !== undefined ? substitute(value, vars) : globals[name]
        if (stage) stage.args[name] = declared ?? ''
        else globals[name] = declared ?? ''
        step(`ARG ${name}=${declared ?? ''}`)
        break
      }
      case 'FROM': {
        const [, written, name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args) ?? fail(`FROM ${args}`)
        const image = substitute(written, globals)
        // A mirror's copy keeps the name: registry.example.com/library/node:24-bookworm-slim.
        const major =
          /(?:^|\/)node:(\d+)\b/.exec(image)?.[1] ?? fail(`FROM ${image}: only node:<major> images are rehearsed`)
        stage = {
          name,
          root: join(work, `stage-${stages.length}`),
          env: { PATH: base },
          args: {},
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
        step(
          `FROM ${image}${name ? ` AS ${name}` : ''}${stage.runs ? '' : `: Node ${major} in the image, Node ${NODE_MAJOR} here`}`,
        )
        break
      }
      case 'WORKDIR':
        stage.workdir = posix.resolve(stage.workdir, args)
        mkdirSync(join(stage.root, stage.workdir), { recursive: true })
        break
      case 'ENV':
        Object.assign(stage.env, parseEnv(substitute(args, { ...stage.args, ...stage.env })))
        break
      case 'COPY': {
        const parts = args.split(/\s+/)
        const from = parts[0].startsWith('--from=') ? parts.shift().slice('--from='.length) : undefined
        if (parts.some((p) => p.startsWith('--'))) fail(`COPY ${args}: unknown option`)
        const dest = parts.pop()
        const source =
          from === undefined
            ? undefined
            : (stages.find((s) => s.name === from) ?? fail(`COPY --from=${from}: no such stage`))
        if (source && !source.complete) {
          skip(`COPY ${args}`, `stage ${from} was not built`)
          stage.complete = false
          break
        }
        const destPath = join(stage.root, posix.resolve(stage.workdir, dest))
        for (const src of parts) {
          const srcPath = source ? join(source.root, posix.resolve(source.workdir, src)) : join(context, src)
          if (!existsSync(srcPath)) fail(`COPY ${src}: not in the ${source ? `stage ${from}` : 'build context'}`)
          const into =
            statSync(srcPath).isFile() && (dest.endsWith('/') || parts.length > 1)
              ? join(destPath, posix.basename(src))
              : destPath
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
        // ARG values are the command's environment, as in Docker, and stay out of the image's. npm takes what the
        // cache holds without asking the registry again: the lockfile pins every package by its integrity, so
        // the same files are installed, in seconds rather than minutes of revalidation.
        const run = spawnSync('sh', ['-c', command], {
          cwd: join(stage.root, stage.workdir),
          env: {
            HOME: home,
            npm_config_prefer_offline: 'true',
            // The host's own trust for the registry (a TLS-inspecting proxy): the network of this machine, not
            // part of the image, which a real build gets from its builder the same way.
            ...HOST_TRUST,
            ...stage.args,
            ...stage.env,
            PATH: hostPath(stage, base),
          },
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
  if (image.cmd?.[0] !== 'node')
    fail(`CMD must start node itself, so that SIGTERM reaches it; got ${JSON.stringify(image.cmd)}`)
  const packages = existsSync(join(app, 'node_modules'))
    ? `; ${readdirSync(join(app, 'node_modules')).length} production packages`
    : ''
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

/** Runs a program to its end, as `docker exec` would; its output and exit status. */
const exec = (argv, options) =>
  new Promise((resolveRun) => {
    const child = spawn(argv[0], argv.slice(1), { ...options, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    child.on('error', (error) => resolveRun({ status: null, output: `${output}${error.message}` }))
    child.on('close', (status, signal) => resolveRun({ status: status ?? signal, output }))
  })

/** The stand-ins for the Alibaba Cloud provider's settings, replaced by this process's own GOTRUE_SMS_ALIYUN_*. */
const aliyunSettings = () => ({
  GOTRUE_SMS_ALIYUN_ACCESS_KEY_ID: 'LTAI-rehearsal',
  GOTRUE_SMS_ALIYUN_ACCESS_KEY_SECRET: 'rehearsal',
  GOTRUE_SMS_ALIYUN_SIGN_NAME: 'rehearsal',
  GOTRUE_SMS_ALIYUN_TEMPLATE_CODE: 'SMS_0',
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith('GOTRUE_SMS_ALIYUN_'))),
})

/** CMD, HEALTHCHECK, the image's command and SIGTERM, as `docker run`, `docker exec` and `docker stop` would. */
const run = async (image, work, base) => {
  const cwd = join(image.root, image.workdir)
  for (let dir = cwd; dir.startsWith(work); dir = dirname(dir)) chmodSync(dir, 0o755)
  const port = await freePort()
  const secret = `v1,whsec_${randomBytes(32).toString('base64')}`
  const env = {
    ...image.env,
    PATH: hostPath(image, base),
    PORT: String(port),
    HOST: '127.0.0.1',
    GOTRUE_HOOK_SEND_SMS_SECRETS: secret,
    // The Alibaba Cloud provider loads the official SDK at start-up (its default transport on Node), so a
    // production dependency missing from the image shows here.
    GOTRUE_SMS_PROVIDER: 'aliyun',
    ...aliyunSettings(),
  }
  const healthcheck = () =>
    spawnSync(image.healthcheck[0], image.healthcheck.slice(1), { cwd, env, timeout: 5000 }).status

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
    if (!/"msg":"listening".*"mode":"production".*"provider":"aliyun"/.test(output))
      fail(`no start-up line in production:\n${output}`)
    const version = await exec(['node', '-p', 'process.version'], { cwd, env })
    step(`the image's node is ${version.output.trim()}`)

    // `sms-hook`, the package's command, as `docker run IMAGE sms-hook ...` finds it: on the image's PATH.
    const generated = await exec(unprivileged(['sms-hook', 'secret']), { cwd: '/', env, timeout: 10_000 })
    if (generated.status !== 0 || !/^v1,whsec_[A-Za-z0-9+/=]{43,}\n$/.test(generated.output)) {
      fail(`\`sms-hook secret\` from the image's PATH: exit ${generated.status}\n${generated.output}`)
    }
    step('`sms-hook secret` runs from the PATH')

    if (process.env.GOTRUE_SMS_ALIYUN_ENDPOINT) {
      const phone = `86139${String(randomBytes(4).readUInt32BE() % 1e8).padStart(8, '0')}`
      const url = `http://127.0.0.1:${port}/send-sms`
      const call = ['sms-hook', 'send-test', '--url', url, '--secret', secret, '--phone', phone]
      const sent = await exec(unprivileged(call), { cwd: '/', env, timeout: 15_000 })
      if (sent.status !== 0) fail(`sms-hook send-test: exit ${sent.status}\n${sent.output}\nserver:\n${output}`)
      step(
        `one hook call, to ${phone} through ${process.env.GOTRUE_SMS_ALIYUN_ENDPOINT}: ${sent.output.split('\n')[0]}`,
      )
    } else {
      skip('one hook call (sms-hook send-test)', 'GOTRUE_SMS_ALIYUN_ENDPOINT names no stand-in for Alibaba Cloud')
    }

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
    const base = basePath(work)
    step(`Node ${NODE_MAJOR} stands for the image's: ${NODE}`)
    const image = build(parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')), work, base)
    inspect(image)
    if (image.runs && image.complete) await run(image, work, base)
    else skip('starting the image (CMD, HEALTHCHECK, sms-hook, SIGTERM)', `it needs the image's Node ${image.major}`)
    step(
      skipped.length === 0
        ? 'passed'
        : `passed what could be checked here; ${skipped.length} steps skipped, listed above`,
    )
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
