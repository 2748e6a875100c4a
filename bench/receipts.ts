/**
 * Part `receipts` of `npm run bench`: what delivery receipts cost.
 * - The hook's server CPU per request with delivery records on (SMS_HOOK_RECEIPTS=on, the default: every send
 *   recorded, past the answer) against off, two hooks of the same settings otherwise, alternating in every round.
 * - Receipts taken per second per core: Alibaba Cloud SmsReport batches pushed to `/receipts/aliyun/<token>` of a
 *   hook whose sends went to a fake Alibaba Cloud gateway (test/fakes/aliyun-server.ts), every report matching a
 *   kept send, counted by the hook's own CPU time.
 */
import { FAKE_ALIYUN } from '../test/fakes/aliyun-accounts.js'
import { startFakeAliyun } from '../test/fakes/aliyun-server.js'
import { signedCalls, SECRET, type SignedCall } from './gotrue.js'
import { closedLoop, targetOf, type LoadResult } from './load.js'
import { verdictOf, type Row } from './report.js'
import { sleep, startServer, type Server } from './servers.js'
import { num, pairwise, showSpread, spread } from './stats.js'

export interface ReceiptsOptions {
  rounds: number
  /** Calls per round of each side (the round also stops after `durationMs`). */
  calls: number
  durationMs: number
  log: (line: string) => void
}

/** The largest CPU per hook with receipts on, against off, the issue allows. */
const LIMIT = 1.1
const TOKEN = 'bench-receipts-token-0123456789'
/** Reports per push: Aliyun batches its pushes; ten is a modest batch. */
const BATCH = 10
const CONCURRENCY = 8

const hookEnv = (extra: Record<string, string>): Record<string, string> => ({
  NODE_ENV: 'production',
  GOTRUE_HOOK_SEND_SMS_SECRETS: SECRET,
  LOG_LEVEL: 'warn',
  SMS_HOOK_LIMIT_PER_NUMBER: 'off',
  SMS_HOOK_LIMIT_PER_IP: 'off',
  SMS_HOOK_LIMIT_PER_NETWORK: 'off',
  ...extra,
})

const measure = async (server: Server, run: () => Promise<LoadResult>) => {
  const cpu0 = server.cpuSeconds()
  const load = await run()
  const cpu = server.cpuSeconds() - cpu0
  const bad = Object.entries(load.statuses).filter(([status]) => status !== '200')
  return {
    load,
    cpu,
    cpuUs: (cpu / load.answered) * 1e6,
    problem:
      bad.length || load.unanswered ? `answers ${JSON.stringify(load.statuses)}, none ${load.unanswered}` : undefined,
  }
}

export const receiptsPart = async (options: ReceiptsOptions): Promise<Row[]> => {
  const { log } = options
  const rows: Row[] = []
  const hooks = {
    on: await startServer('hook receipts on', 'src/node/main.ts', {
      env: hookEnv({ GOTRUE_SMS_PROVIDER: 'console', SMS_HOOK_RECEIPTS: 'on', SMS_HOOK_RECEIPTS_TOKEN: TOKEN }),
    }),
    off: await startServer('hook receipts off', 'src/node/main.ts', {
      env: hookEnv({ GOTRUE_SMS_PROVIDER: 'console', SMS_HOOK_RECEIPTS: 'off' }),
    }),
  }
  const run = (server: Server, calls: SignedCall[]) => () =>
    closedLoop({ target: targetOf(server.url), concurrency: CONCURRENCY, durationMs: options.durationMs, calls })
  try {
    // Warm-up of both (JIT, connections), not measured.
    for (const server of Object.values(hooks)) for (let i = 0; i < 2; i++) await run(server, signedCalls(1000))()
    const cpu: Record<'on' | 'off', number[]> = { on: [], off: [] }
    const problems = new Set<string>()
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)
      for (const side of order) {
        const m = await measure(hooks[side], run(hooks[side], signedCalls(options.calls)))
        cpu[side].push(m.cpuUs)
        if (m.problem) problems.add(`${side}: ${m.problem}`)
        log(`  receipts round ${round + 1}/${options.rounds} ${side.padEnd(3)} server ${m.cpuUs.toFixed(1)} µs/req`)
        await sleep(200)
      }
    }
    const ratio = spread(pairwise(cpu.on, cpu.off, (a, b) => a / b))
    rows.push({
      section: '19 Receipts',
      what: 'server CPU per hook request: delivery records on (SMS_HOOK_RECEIPTS=on) / off',
      target: `≤ ${LIMIT}`,
      figure:
        `ratio ${showSpread(ratio, 3)}; on ${showSpread(spread(cpu.on), 1, ' µs')}, off ${showSpread(spread(cpu.off), 1, ' µs')}` +
        (problems.size ? `; not all answers were 200: ${[...problems].join(' / ')}` : ''),
      verdict: problems.size ? 'ERROR' : verdictOf(ratio.median, '<=', LIMIT),
      how: `closed loop, ${CONCURRENCY} connections, ${options.rounds} alternating rounds of ≤ ${num(options.calls)} calls or ${options.durationMs / 1000} s; console provider, memory state`,
    })
  } finally {
    await hooks.on.stop()
    await hooks.off.stop()
  }

  rows.push(await receiptsPerCore(options))
  return rows
}

/** Sends through a fake Alibaba Cloud gateway, then pushes their SmsReports and counts reports per CPU second. */
const receiptsPerCore = async (options: ReceiptsOptions): Promise<Row> => {
  const aliyun = await startFakeAliyun()
  const hook = await startServer('hook aliyun receipts', 'src/node/main.ts', {
    env: hookEnv({
      GOTRUE_SMS_PROVIDER: 'aliyun',
      GOTRUE_SMS_ALIYUN_TRANSPORT: 'fetch',
      GOTRUE_SMS_ALIYUN_ENDPOINT: aliyun.url,
      GOTRUE_SMS_ALIYUN_ACCESS_KEY_ID: FAKE_ALIYUN.accessKeyId,
      GOTRUE_SMS_ALIYUN_ACCESS_KEY_SECRET: FAKE_ALIYUN.accessKeySecret,
      GOTRUE_SMS_ALIYUN_SIGN_NAME: 'sms-hook',
      GOTRUE_SMS_ALIYUN_TEMPLATE_CODE: 'SMS_465000000',
      SMS_HOOK_RECEIPTS_TOKEN: TOKEN,
    }),
  })
  try {
    const pushes = (sends: SignedCall[], success: boolean): SignedCall[] => {
      const calls: SignedCall[] = []
      for (let i = 0; i < sends.length; i += BATCH) {
        const reports = sends.slice(i, i + BATCH).map((send) => ({
          phone_number: send.phone.slice(2),
          send_time: '2026-12-04 10:00:00',
          report_time: '2026-12-04 10:00:05',
          success,
          err_code: success ? 'DELIVERED' : 'MK:0001',
          err_msg: success ? '用户接收成功' : '失败',
          sms_size: '1',
          biz_id: `biz-${send.uuid}`,
          out_id: send.uuid,
        }))
        const body = Buffer.from(JSON.stringify(reports))
        calls.push({
          body,
          headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
          phone: '',
          uuid: '',
        })
      }
      return calls
    }
    const figures: number[] = []
    const problems = new Set<string>()
    // One round unmeasured first: the receipt path's JIT and the store's first growth.
    for (let round = -1; round < options.rounds; round++) {
      const sends = signedCalls(Math.min(options.calls, 2000))
      const sent = await closedLoop({
        target: targetOf(hook.url),
        concurrency: CONCURRENCY,
        durationMs: 30_000,
        calls: sends,
      })
      if (sent.statuses[200] !== sends.length) problems.add(`sends answered ${JSON.stringify(sent.statuses)}`)
      // Past the answers, the records are written: a moment for the last of them.
      await sleep(200)
      const m = await measure(hook, () =>
        closedLoop({
          target: targetOf(hook.url, `/receipts/aliyun/${TOKEN}`),
          concurrency: CONCURRENCY,
          durationMs: 30_000,
          calls: pushes(sends, round % 2 === 0),
        }),
      )
      if (m.problem) problems.add(m.problem)
      const reports = m.load.answered * BATCH
      if (round < 0) continue
      figures.push(reports / m.cpu)
      options.log(`  receipts round ${round + 1}/${options.rounds} ${num(reports / m.cpu)} reports per CPU second`)
    }
    return {
      section: '19 Receipts',
      what: 'Alibaba Cloud delivery reports taken per second per core (hook CPU), each matching a kept send',
      target: '',
      figure:
        `${showSpread(spread(figures), 0, ' reports/s')}` + (problems.size ? `; ${[...problems].join(' / ')}` : ''),
      verdict: problems.size ? 'ERROR' : 'info',
      how: `${options.rounds} rounds: ≤ 2,000 sends through a fake gateway, then their reports in pushes of ${BATCH} to /receipts/aliyun/<token>, ${CONCURRENCY} connections; memory state`,
    }
  } finally {
    await hook.stop()
    await aliyun.close()
  }
}
