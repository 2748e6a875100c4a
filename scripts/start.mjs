// `npm start`: production unless NODE_ENV says otherwise, running the build in build/. It never builds: a
// production install has no compiler, and a start that compiles first would start late. Runs the server in this
// very process, so SIGTERM reaches it without a wrapper: npm passes a signal on to its own child only, which is
// the shell running the script line, and package.json's `exec` makes that shell become this process.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

process.env.NODE_ENV ??= 'production'

const MAIN = 'build/node/main.js'

if (!existsSync(MAIN)) {
  console.error(
    `sms-hook: ${MAIN} is missing: run \`npm run build\` first (after \`npm ci\`, which installs the build tools)`,
  )
  process.exit(1)
}

/** The newest modification time under `dir`, 0 when there is no such folder (an installed package has no src/). */
const newest = (dir) => {
  let entries
  try {
    entries = readdirSync(dir, { withFileTypes: true })
  } catch {
    return 0
  }
  return entries.reduce((latest, entry) => {
    const path = join(dir, entry.name)
    return Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs)
  }, 0)
}

// In a checkout, sources edited after the build would not run: said, then the build starts as it is.
if (statSync(MAIN).mtimeMs < newest('src')) {
  console.error('sms-hook: build/ is older than src/: this runs the old build; `npm run build` brings it up to date')
}

await import('../build/node/main.js')
