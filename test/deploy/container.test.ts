/**
 * The Dockerfile, rehearsed without a Docker engine (scripts/rehearse-docker.mjs): its install and build steps
 * in clean folders, then the final stage started with its CMD, probed with its HEALTHCHECK, stopped by SIGTERM.
 */
import { spawn } from 'node:child_process'
import { describe, expect, it } from 'vitest'

const rehearse = () =>
  new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(process.execPath, ['scripts/rehearse-docker.mjs'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 280_000 })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.on('close', (code) => resolve({ code, output }))
  })

describe('the container image', () => {
  it('builds with production dependencies only, runs as an unprivileged user, is healthy, and stops on SIGTERM', async () => {
    const { code, output } = await rehearse()
    expect(code, output).toBe(0)
    expect(output).toMatch(/final image: build, node_modules, package-lock\.json, package\.json;/)
    expect(output).toContain('HEALTHCHECK passes')
    expect(output).toContain('SIGTERM: graceful shutdown, exit 0')
    expect(output).toContain('rehearse-docker: passed')
  }, 300_000)
})
