/**
 * The Dockerfile, rehearsed without a Docker engine (scripts/rehearse-docker.mjs): its install and build steps
 * in clean folders, then the final stage started with its CMD, probed with its HEALTHCHECK, stopped by SIGTERM.
 * On another Node major than the image's, what runs inside the image is skipped.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

const imageMajor = /^FROM node:(\d+)/m.exec(readFileSync('Dockerfile', 'utf8'))![1]!
const sameMajor = process.versions.node.split('.')[0] === imageMajor

const rehearse = (env: NodeJS.ProcessEnv = {}) =>
  new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(process.execPath, ['scripts/rehearse-docker.mjs'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 280_000,
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.on('close', (code) => resolve({ code, output }))
  })

describe('the container image', () => {
  it.runIf(sameMajor)('builds with production dependencies only, runs as an unprivileged user, is healthy, and stops on SIGTERM', async () => {
    const { code, output } = await rehearse()
    expect(code, output).toBe(0)
    expect(output).toMatch(/final image: build, node_modules, package-lock\.json, package\.json;/)
    expect(output).toContain('HEALTHCHECK passes')
    expect(output).toContain('SIGTERM: graceful shutdown, exit 0')
    expect(output).toContain('rehearse-docker: passed')
  }, 300_000)

  it("on another Node major than the image's, checks what it can and lists what it skipped", async () => {
    const other = String(Number(imageMajor) + 2)
    const { code, output } = await rehearse({ REHEARSE_NODE_MAJOR: other })
    expect(code, output).toBe(0)
    expect(output).toContain(`Node ${imageMajor} in the image, Node ${other} here`)
    expect(output).toMatch(/skipped: RUN .*npm ci --omit=dev/)
    expect(output).toContain('skipped: starting the image (CMD, HEALTHCHECK, SIGTERM)')
    expect(output).not.toContain('HEALTHCHECK passes')
    expect(output).toMatch(new RegExp(`rehearse-docker: passed what Node ${other} can check; \\d+ steps skipped, listed above\\n$`))
  }, 60_000)
})
