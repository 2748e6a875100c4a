// `npm start`: production unless NODE_ENV says otherwise, building first when the build is missing or older
// than the sources. Runs the server in this very process, so SIGTERM reaches it without a wrapper: npm passes a
// signal on to its own child only, which is the shell running the script line, and package.json's `exec` makes
// that shell become this process.
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

process.env.NODE_ENV ??= 'production'

const newest = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
    const path = join(dir, entry.name)
    return Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs)
  }, 0)

const built = (() => {
  try {
    return statSync('build/node/main.js').mtimeMs
  } catch {
    return 0
  }
})()

if (built < newest('src')) {
  console.error('sms-hook: building (tsc)...')
  const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  })
  if (tsc.status !== 0) process.exit(tsc.status ?? 1)
}

await import('../build/node/main.js')
