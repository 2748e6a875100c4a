/**
 * The count .ci/run prints as its last line (scripts/count-tests.mjs), on vitest JSON reports of the shapes it
 * writes; the file that fails to load is as vitest 4 reports it.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const countOf = (report: object | string | undefined) => {
  const dir = mkdtempSync(join(tmpdir(), 'sms-hook-count-'))
  const file = join(dir, 'test-results.json')
  if (report !== undefined) writeFileSync(file, typeof report === 'string' ? report : JSON.stringify(report))
  return execFileSync(process.execPath, ['scripts/count-tests.mjs', file], { encoding: 'utf8' })
}

const passing = {
  status: 'passed',
  name: '/app/test/a.test.ts',
  message: '',
  assertionResults: [{ title: 'a', status: 'passed' }],
}
const failing = {
  status: 'failed',
  name: '/app/test/b.test.ts',
  message: '',
  assertionResults: [
    { title: 'b', status: 'passed' },
    { title: 'c', status: 'failed' },
  ],
}
const unloadable = {
  status: 'failed',
  name: '/app/test/broken.test.ts',
  message: "Cannot find module './does-not-exist.js' imported from /app/test/broken.test.ts",
  assertionResults: [],
}
const report = (files: object[], counts: { passed: number; failed: number; failedFiles: number }) => ({
  numTotalTestSuites: files.length,
  numFailedTestSuites: counts.failedFiles,
  numPassedTests: counts.passed,
  numFailedTests: counts.failed,
  success: counts.failedFiles === 0,
  testResults: files,
})

describe('the test count of .ci/run', () => {
  it('counts passed and failed tests', () => {
    expect(countOf(report([passing, failing], { passed: 2, failed: 1, failedFiles: 1 }))).toBe('2 passed, 1 failed\n')
    expect(countOf(report([passing], { passed: 1, failed: 0, failedFiles: 0 }))).toBe('1 passed, 0 failed\n')
  })

  it('counts a test file that fails to load as a failure', () => {
    expect(countOf(report([unloadable], { passed: 0, failed: 0, failedFiles: 1 }))).toBe('0 passed, 1 failed\n')
    expect(countOf(report([passing, unloadable, failing], { passed: 2, failed: 1, failedFiles: 2 }))).toBe(
      '2 passed, 2 failed\n',
    )
  })

  it('counts a run that failed with nothing failed in it, and a missing or broken report, as one failure', () => {
    expect(countOf({ ...report([passing], { passed: 1, failed: 0, failedFiles: 0 }), success: false })).toBe(
      '1 passed, 1 failed\n',
    )
    expect(countOf(undefined)).toBe('0 passed, 1 failed\n')
    expect(countOf('{"numPassedTests":')).toBe('0 passed, 1 failed\n')
  })

  it('is what .ci/run prints last', () => {
    expect(readFileSync('.ci/run', 'utf8')).toMatch(
      /\nnode scripts\/count-tests\.mjs test-results\.json\nexit \$status\n$/,
    )
  })
})
