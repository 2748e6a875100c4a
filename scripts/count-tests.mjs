#!/usr/bin/env node
/**
 * The last line of a CI run, `N passed, M failed`, from vitest's JSON report.
 *
 * A test file that fails to load (a syntax error, a missing import) has no test that could fail: vitest marks its
 * result `failed` with no assertions and counts it in numFailedTestSuites only. Each such file counts as one
 * failure here, as does a run the report calls unsuccessful with nothing failed in it (an unhandled error), and a
 * missing or unreadable report (the run stopped before the tests: type errors, a crash).
 *
 * Usage: node scripts/count-tests.mjs [test-results.json]      (.ci/run)
 */
import { readFileSync } from 'node:fs'

const count = (report) => {
  const passed = report.numPassedTests ?? 0
  let failed = report.numFailedTests ?? 0
  for (const file of report.testResults ?? []) {
    if (file.status === 'failed' && !(file.assertionResults ?? []).some((test) => test.status === 'failed')) failed += 1
  }
  if (report.success === false && failed === 0) failed = 1
  return { passed, failed }
}

let result
try {
  result = count(JSON.parse(readFileSync(process.argv[2] ?? 'test-results.json', 'utf8')))
} catch {
  result = { passed: 0, failed: 1 }
}
console.log(`${result.passed} passed, ${result.failed} failed`)
