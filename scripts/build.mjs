// `npm run build` (and `npm pack`, through prepack): the Node entries bundled with their dependencies into
// build/, so that a start reads a few files instead of several hundred. Type checking is `npm run typecheck`'s
// job; esbuild only strips the types.
//
// What a configuration may never use is kept off the start: the Redis state (ioredis, the store's schemas) and the
// official Alibaba Cloud SDK transport are CommonJS bundles of their own (build/store/redis.cjs,
// build/providers/aliyun/sdk-transport.cjs), each with V8's code cache made here, which src/node/bundled.ts loads
// when REDIS_URL or GOTRUE_SMS_ALIYUN_TRANSPORT=sdk asks for them. Not chunks: esbuild would put the modules
// they share with the hook's path (most of zod) in a chunk every start loads, and a chunk is an ES module, which
// Node 20 cannot give a code cache. Their own copies of the few modules they share with the rest are harmless:
// errors are told apart by name, not by class (src/errors.ts).
import { build } from 'esbuild'
import { rmSync } from 'node:fs'
import { dirname, relative, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

rmSync('build', { recursive: true, force: true })

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Whitespace and syntax only: names stay, so that a stack trace still reads, and the map points at src/.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  sourcesContent: false,
  // The bundled CommonJS packages call require() for Node's own modules and may read __dirname, which an ES
  // module does not have.
  banner: {
    js:
      "import { createRequire as __createRequire } from 'node:module'; import { dirname as __pathDirname } from 'node:path'; " +
      "import { fileURLToPath as __fileURLToPath } from 'node:url'; const require = __createRequire(import.meta.url); " +
      'const __filename = __fileURLToPath(import.meta.url); const __dirname = __pathDirname(__filename);',
  },
  logLevel: 'warning',
}

/** Source files bundled on their own, at the same place under build/ as under src/, as `.cjs`. */
const SEPARATE = [resolve('src/store/redis.ts'), resolve('src/providers/aliyun/sdk-transport.ts')]

/**
 * Leaves a dynamic import of a SEPARATE file as it is written: the importer loads the bundle beside it first
 * (loadBundled), and imports the module itself only where there is none (tsx, tsc's output).
 */
const separate = {
  name: 'separate',
  setup(b) {
    b.onResolve({ filter: /\.js$/ }, (args) => {
      if (args.kind !== 'dynamic-import') return undefined
      const target = resolve(args.resolveDir, args.path).replace(/\.js$/, '.ts')
      return SEPARATE.includes(target) ? { path: args.path, external: true } : undefined
    })
  },
}

const entries = await build({
  ...common,
  // bundled.ts for the code caches made below.
  entryPoints: ['src/node/main.ts', 'src/cli.ts', 'src/node/bundled.ts'],
  outdir: 'build',
  outbase: 'src',
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  plugins: [separate],
  metafile: true,
})

// The paths are relative to the source file (the import, and the bundle's URL beside it); they hold in the output
// only where that file's code landed at the same depth under build/ as the source under src/ (build/node/,
// build/chunks/). Checked, not assumed.
const bundles = SEPARATE.map((file) => resolve('build', relative(resolve('src'), file)).replace(/\.ts$/, '.js'))
for (const [output, meta] of Object.entries(entries.metafile.outputs)) {
  for (const { path, external } of meta.imports) {
    if (!external || !path.startsWith('.')) continue
    if (!bundles.includes(resolve(dirname(output), path))) {
      throw new Error(`${output} imports ${path}, which is not where its bundle goes`)
    }
  }
}

await build({
  ...common,
  entryPoints: SEPARATE.map((file) => relative('.', file)),
  outdir: 'build',
  outbase: 'src',
  format: 'cjs',
  outExtension: { '.js': '.cjs' },
  // CommonJS has require and __dirname of its own.
  banner: {},
})

const { writeCodeCache } = await import(pathToFileURL(resolve('build/node/bundled.js')).href)
for (const bundle of bundles) writeCodeCache(bundle.replace(/\.js$/, '.cjs'))
