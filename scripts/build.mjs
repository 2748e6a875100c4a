// `npm run build` (and `npm pack`, through prepack): the Node entries bundled with their dependencies into
// build/, so that a start reads a few files instead of several hundred. Type checking is `npm run typecheck`'s
// job; esbuild only strips the types.
//
// What a configuration may never use is kept off the start: the official Alibaba Cloud SDK sits in a chunk of its
// own, loaded by the import() that asks for it, and the Redis state (ioredis, the store's schemas) in a bundle of
// its own, build/store/redis.js, where src/node/state.ts imports it from. Not a chunk: esbuild would put the
// modules it shares with the hook's path (most of zod) in a chunk every start loads. Its own copies of the few
// modules both use are harmless: errors are told apart by name, not by class (src/errors.ts).
import { build } from 'esbuild'
import { rmSync } from 'node:fs'
import { dirname, relative, resolve } from 'node:path'

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

/** Source files bundled on their own, at the same place under build/ as under src/. */
const SEPARATE = [resolve('src/store/redis.ts')]

/** Leaves a dynamic import of a SEPARATE file as it is written, which then finds its bundle beside the others. */
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
  entryPoints: ['src/node/main.ts', 'src/cli.ts'],
  outdir: 'build',
  outbase: 'src',
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  plugins: [separate],
  metafile: true,
})

// The import path is relative to the source file; it holds in the output only where that file's code landed at
// the same depth under build/ as the source under src/ (build/node/, build/chunks/). Checked, not assumed.
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
})
