import { readFile } from 'node:fs/promises'
import { cloudflareTest } from '@cloudflare/vitest-pool-workers'
import { configDefaults, defineConfig, type Plugin } from 'vitest/config'
import { INBOX_TOKEN, SECRET } from './test/support/sign.js'

/**
 * One set of cases, two runtimes: every suite runs on Node, and again inside workerd (the runtime of Cloudflare
 * Workers) unless it needs what only Node has. `test/worker` holds the cases of the Worker entry itself.
 */
const NODE_ONLY = [
  // A real listening server, child processes, the CLI.
  'test/node/**',
  // Runs `npm run dev:worker`'s script as a process.
  'test/dev/dev-worker.test.ts',
  // The filter of workerd's log, which runs in the Node process that starts workerd.
  'test/support/workerd-log.test.ts',
  // The official Alibaba Cloud SDK needs Node's http; the Worker never loads it.
  'test/providers/aliyun/sdk.test.ts',
  'test/providers/aliyun/sign-oracle.test.ts',
  // How Node reports a refused connection; workerd's reading is a case of test/worker.
  'test/providers/aliyun/refused-connection.test.ts',
  // The official Tencent Cloud SDK, the oracle for our TC3 signer, needs Node's crypto and http.
  'test/providers/tencent/sign-oracle.test.ts',
  // The official twilio package, the oracle for our receipt signature check, needs Node's http stack.
  'test/receipts/twilio-oracle.test.ts',
  // ioredis needs Node's net and tls, and the suites start redis-server processes.
  'test/store/redis.test.ts',
  'test/store/redis-cluster.test.ts',
  'test/store/redis-sentinel.test.ts',
  'test/store/deliveries-redis.test.ts',
  'test/hook/state-down.test.ts',
  'test/hook/store-faults.test.ts',
  'test/guard/redis.test.ts',
]

/**
 * Loads the files of `packages` without their `sourceMappingURL`: their published maps name sources the packages
 * do not ship (standardwebhooks maps to its `src/`), which Vite warns about once per run. Only the workerd project
 * transforms dependencies; Node imports them as they are.
 */
const withoutDanglingSourceMaps = (packages: readonly string[]): Plugin => ({
  name: 'sms-hook:without-dangling-source-maps',
  enforce: 'pre',
  async load(id) {
    const file = id.split('?')[0]!
    if (!packages.some((name) => file.includes(`/node_modules/${name}/`)) || !file.endsWith('.js')) return null
    return { code: (await readFile(file, 'utf8')).replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n'), map: null }
  },
})

export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/worker/**', 'test/deploy/**'],
          environment: 'node',
        },
      },
      {
        extends: true,
        plugins: [
          withoutDanglingSourceMaps(['standardwebhooks']),
          cloudflareTest({
            // The Worker and its Durable Objects exactly as deployed...
            wrangler: { configPath: './wrangler.toml' },
            // ...with the secrets `wrangler secret put` would add, and the console provider, which needs no
            // account, with its inbox token. Cases that need other settings pass their own bindings to the Worker's fetch.
            miniflare: {
              bindings: {
                GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET,
                GOTRUE_SMS_PROVIDER: 'console',
                SMS_HOOK_INBOX_TOKEN: INBOX_TOKEN,
              },
            },
          }),
        ],
        test: {
          name: 'workerd',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...NODE_ONLY, 'test/deploy/**'],
        },
      },
      {
        // The Worker bundle and the container image, built as they would ship: wrangler and npm are Node
        // programs. Run after the others, so their CPU load cannot upset the timing of the behaviour suites.
        extends: true,
        test: {
          name: 'deploy',
          include: ['test/deploy/**/*.test.ts'],
          environment: 'node',
          sequence: { groupOrder: 1 },
        },
      },
    ],
    globalSetup: ['test/global-setup.ts'],
    // A passing test's log lines are noise (every OTP the console provider prints); a failing one's are its story.
    silent: 'passed-only',
    // The JSON report is what .ci/run counts; the default reporter is for people.
    reporters: ['default', ['json', { outputFile: 'test-results.json' }]],
    testTimeout: 15_000,
  },
})
