/**
 * The Dockerfile, rehearsed without a Docker engine (scripts/rehearse-docker.mjs): its install and build steps
 * in clean folders, then the final stage started with its CMD, probed with its HEALTHCHECK, its `sms-hook` command
 * run from its PATH for one hook call through the fake Alibaba Cloud, stopped by SIGTERM.
 *
 * What runs inside the image runs on the image's Node major (24), which this suite need not run on: that Node
 * comes from npm's `node@24` package (fetched once, then from npm's cache). On another Node major than the
 * image's, what runs inside the image is skipped.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { aliyunEnv, fakeUrl, type FakeCall } from '../providers/aliyun/fake.js'

const dockerfile = readFileSync('Dockerfile', 'utf8')
const imageMajor = /^ARG NODE_IMAGE=node:(\d+)/m.exec(dockerfile)![1]!

const run = (command: string, args: string[], env: NodeJS.ProcessEnv, timeout: number) =>
  new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], timeout })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.on('close', (code) => resolve({ code, output }))
  })

const rehearse = (env: NodeJS.ProcessEnv = {}, timeout = 300_000) =>
  run(process.execPath, ['scripts/rehearse-docker.mjs'], env, timeout)

/** The binary of npm's `node@<major>` package: from npm's cache once fetched, from the npm registry before. */
const nodeFromNpm = async (major: string) => {
  const { code, output } = await run(
    'npm',
    ['exec', '--yes', '--prefer-offline', `--package=node@${major}`, '--', 'node', '-p', 'process.execPath'],
    {},
    180_000,
  )
  expect(code, output).toBe(0)
  return output.trim().split('\n').at(-1)!
}

describe('the container image', () => {
  it(`on Node ${imageMajor}: builds with production dependencies only, runs as an unprivileged user, is healthy, puts sms-hook on PATH, sends one hook call, stops on SIGTERM`, async () => {
    const node = await nodeFromNpm(imageMajor)
    const { GOTRUE_SMS_PROVIDER: _, ...aliyun } = aliyunEnv()
    const { code, output } = await rehearse({ REHEARSE_NODE: node, ...aliyun } as NodeJS.ProcessEnv)
    expect(code, output).toBe(0)
    expect(output).toContain(`Node ${imageMajor} stands for the image's`)
    expect(output).toMatch(/final image: bin, build, node_modules, package-lock\.json, package\.json;/)
    expect(output).toContain('HEALTHCHECK passes')
    expect(output).toMatch(new RegExp(`the image's node is v${imageMajor}\\.`))
    expect(output).toContain('`sms-hook secret` runs from the PATH')
    expect(output).toContain('SIGTERM: graceful shutdown, exit 0')
    expect(output).toMatch(/rehearse-docker: passed\n$/)

    // The call went through the image's production dependencies (the official SDK) to the fake, signed.
    const phone = /one hook call, to (\d+) through .*: HTTP 200/.exec(output)?.[1]
    expect(phone, output).toBeDefined()
    const calls = (await (await fetch(`${fakeUrl()}/__calls`)).json()) as FakeCall[]
    const reached = calls.filter((call) => call.reached === `+${phone}`)
    expect(reached).toHaveLength(1)
    expect(reached[0]).toMatchObject({ action: 'SendSms', signatureValid: true, answer: { status: 200, code: 'OK' } })
  }, 500_000)

  it("on another Node major than the image's, checks what it can and lists what it skipped", async () => {
    const other = String(Number(imageMajor) + 2)
    const { code, output } = await rehearse({ REHEARSE_NODE_MAJOR: other }, 60_000)
    expect(code, output).toBe(0)
    expect(output).toContain(`Node ${imageMajor} in the image, Node ${other} here`)
    expect(output).toMatch(/skipped: RUN .*npm ci --omit=dev/)
    expect(output).toContain('skipped: starting the image (CMD, HEALTHCHECK, sms-hook, SIGTERM)')
    expect(output).not.toContain('HEALTHCHECK passes')
    expect(output).toMatch(/rehearse-docker: passed what could be checked here; \d+ steps skipped, listed above\n$/)
  }, 60_000)

  it('takes the base image and the npm registry as build arguments, for mirrors', async () => {
    const image = `registry.example.com/library/node:${imageMajor}-bookworm-slim`
    const registry = 'https://registry.npmmirror.com/'
    const args = [
      'scripts/rehearse-docker.mjs',
      '--build-arg',
      `NODE_IMAGE=${image}`,
      '--build-arg',
      `NPM_REGISTRY=${registry}`,
    ]
    const { code, output } = await run(
      process.execPath,
      args,
      { REHEARSE_NODE_MAJOR: String(Number(imageMajor) + 2) },
      60_000,
    )
    expect(code, output).toBe(0)
    // Both stages.
    expect(output).toContain(`FROM ${image} AS build`)
    expect(output.split(`FROM ${image}`)).toHaveLength(3)
    // Declared in each stage, as RUN sees only a stage's own ARGs; each npm ci reads it.
    expect(output.split(`ARG NPM_REGISTRY=${registry}\n`)).toHaveLength(3)
    expect(dockerfile.match(/npm ci .*--registry="\$NPM_REGISTRY"/g)).toHaveLength(2)
  }, 60_000)
})
