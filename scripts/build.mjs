// `npm run build` (and `npm pack`, through prepack): the Node entries bundled with their dependencies into
// build/, so that a start reads a few files instead of several hundred. What a configuration may never use (the
// Redis client, the official Alibaba Cloud SDK) sits in chunks of its own, loaded by the import() that asks for it.
// Type checking is `npm run typecheck`'s job; esbuild only strips the types.
import { build } from 'esbuild'
import { rmSync } from 'node:fs'

rmSync('build', { recursive: true, force: true })

await build({
  entryPoints: ['src/node/main.ts', 'src/cli.ts'],
  outdir: 'build',
  outbase: 'src',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
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
})
