/**
 * The modules the build bundles on their own as CommonJS (the Redis state, the official Alibaba Cloud SDK
 * transport: scripts/build.mjs), each with V8's code cache beside it: loading one then reuses the bytecode the
 * build compiled instead of compiling about 1 MB of JavaScript again, which halves the time it takes.
 *
 * A cache that does not fit is not used: one of another V8 version V8 itself refuses; one of other sources (the
 * cache file starts with the SHA-1 of the source it was made from) this module refuses. Without a bundle (tsx, or
 * tsc's per-file output) `loadBundled` answers undefined, and the caller imports the module itself.
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Script } from 'node:vm'

const DIGEST_BYTES = 20

const digestOf = (source: string) => createHash('sha1').update(source).digest()

/** Node's own CommonJS wrapper, so that the module sees what it would under require(). */
const compile = (file: string, source: string, cachedData?: Buffer) =>
  new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    cachedData,
  })

const run = (file: string, script: Script): unknown => {
  const module = { exports: {} as unknown }
  const init = script.runInThisContext() as (...args: unknown[]) => void
  init.call(module.exports, module.exports, createRequire(file), module, file, dirname(file))
  return module.exports
}

/** The exports of the CommonJS bundle at `url` (a `.cjs` under build/), or undefined when there is none. */
export const loadBundled = <T>(url: URL): T | undefined => {
  const file = fileURLToPath(url)
  if (!existsSync(file)) return undefined
  const source = readFileSync(file, 'utf8')
  let cached: Buffer | undefined
  try {
    const cache = readFileSync(`${file}.cache`)
    if (cache.subarray(0, DIGEST_BYTES).equals(digestOf(source))) cached = cache.subarray(DIGEST_BYTES)
  } catch {
    // no cache: compiled from the source
  }
  return run(file, compile(file, source, cached)) as T
}

/**
 * Writes the code cache of the bundle at `file` (the build does, once per bundle): after running the module, so
 * that the functions its loading compiles are in the cache too.
 */
export const writeCodeCache = (file: string) => {
  const source = readFileSync(file, 'utf8')
  const script = compile(file, source)
  run(file, script)
  writeFileSync(`${file}.cache`, Buffer.concat([digestOf(source), script.createCachedData()]))
}
