/**
 * The build's CommonJS bundles and their code caches (src/node/bundled.ts): a cache is only ever used for the
 * source it was made from, whatever V8 would accept.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { loadBundled, writeCodeCache } from '../../src/node/bundled.js'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const bundle = (source: string) => {
  const dir = mkdtempSync(join(tmpdir(), 'sms-hook-bundled-'))
  dirs.push(dir)
  const file = join(dir, 'module.cjs')
  writeFileSync(file, source)
  return file
}

const SOURCE =
  "const { basename } = require('node:path'); exports.answer = () => 'first'; exports.file = basename(__filename)"

describe('loadBundled', () => {
  it('answers undefined where the build left no bundle: the caller imports the module itself', () => {
    expect(loadBundled(pathToFileURL(join(tmpdir(), 'sms-hook-no-such-bundle.cjs')))).toBeUndefined()
  })

  it("runs a bundle with its code cache as CommonJS: require, __filename and exports are the module's own", () => {
    const file = bundle(SOURCE)
    writeCodeCache(file)
    expect(readFileSync(`${file}.cache`).length).toBeGreaterThan(20)
    const loaded = loadBundled<{ answer: () => string; file: string }>(pathToFileURL(file))!
    expect(loaded.answer()).toBe('first')
    expect(loaded.file).toBe('module.cjs')
  })

  it('ignores a cache made from other sources, even of the same length (which V8 alone would take)', () => {
    const file = bundle(SOURCE)
    writeCodeCache(file)
    const changed = SOURCE.replace("'first'", "'other'")
    expect(changed.length).toBe(SOURCE.length)
    writeFileSync(file, changed)
    expect(loadBundled<{ answer: () => string }>(pathToFileURL(file))!.answer()).toBe('other')
  })

  it('runs a bundle without a cache, or with a damaged one', () => {
    const file = bundle(SOURCE)
    expect(loadBundled<{ answer: () => string }>(pathToFileURL(file))!.answer()).toBe('first')
    writeFileSync(`${file}.cache`, 'not a cache')
    expect(loadBundled<{ answer: () => string }>(pathToFileURL(file))!.answer()).toBe('first')
  })
})
