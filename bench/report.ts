/**
 * The benchmark's one table: every target, the figure measured and the verdict, printed and written to
 * BENCHMARKS.md together with the machine it ran on and the command that produced it.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { meets, type Op } from './stats.js'

/**
 * - `pass` / `MISS`: a target, met or not (`--check` fails on MISS);
 * - `info`: a figure without a target of its own (context for the others);
 * - `skip`: could not be measured here, the figure says why;
 * - `ERROR`: the measurement itself failed (the figure says how); `--check` fails on it too;
 * - `warn`: the figure stands, but something about how it was taken deserves a look (said in the figure).
 */
export type Verdict = 'pass' | 'MISS' | 'info' | 'skip' | 'ERROR' | 'warn'

export interface Row {
  /** The issue's item this row belongs to, e.g. `1 CPU`. */
  section: string
  what: string
  /** `≥ 0.65`, `< 5.0 s`...; empty for a figure without a target. */
  target: string
  figure: string
  verdict: Verdict
  /** How it was measured, in a few words (load shape, rounds, settings). */
  how: string
  /** The part of the benchmark that measured it (`npm run bench -- --only <part>` measures it alone). */
  part?: string
}

/** The issue's items in its order, then the Redis issue's rows, then the checks of the harness itself. */
const SECTIONS = ['1 CPU', '2 Latency', '3 Deadline', '4 Memory', '10 Cold start', '19 Receipts', 'Redis', 'Harness']

/** `rows` in the order of SECTIONS (a stable sort: within one, the order they were measured in). */
export const ordered = (rows: readonly Row[]): Row[] => {
  const rank = (r: Row) => (SECTIONS.includes(r.section) ? SECTIONS.indexOf(r.section) : SECTIONS.length)
  return [...rows].sort((a, b) => rank(a) - rank(b))
}

export const verdictOf = (value: number, op: Op, limit: number): Verdict => (meets(value, op, limit) ? 'pass' : 'MISS')

export const failed = (rows: readonly Row[]) => rows.filter((r) => r.verdict === 'MISS' || r.verdict === 'ERROR')

const escape = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ')

/** The rows as a Markdown table (also how the terminal shows them). */
export const table = (unordered: readonly Row[]): string => {
  const rows = ordered(unordered)
  const lines = [
    '| # | Item | Measure | Target | Figure | Verdict | How | Command |',
    '|---|---|---|---|---|---|---|---|',
  ]
  rows.forEach((r, i) => {
    const command = r.part ? `\`npm run bench -- --only ${r.part}\`` : '`npm run bench`'
    lines.push(
      `| ${i + 1} | ${escape(r.section)} | ${escape(r.what)} | ${escape(r.target || '—')} | ${escape(r.figure)} | ${r.verdict} | ${escape(r.how)} | ${command} |`,
    )
  })
  return lines.join('\n')
}

export interface Machine {
  cpu: string
  cores: number
  memoryGiB: number
  node: string
  kernel: string
  openFiles: string
  redis: string
}

export const machine = (redisVersion: string | undefined): Machine => {
  let openFiles = '?'
  try {
    openFiles = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim()
  } catch {
    // not a POSIX shell: leave it unknown
  }
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    openFiles,
    redis: redisVersion ?? 'not used',
  }
}

export interface Report {
  rows: Row[]
  machine: Machine
  /** The command line that produced the table. */
  command: string
  startedAt: Date
  durationS: number
  /** Paragraphs after the table: settings of each process, what was skipped and why, caveats. */
  notes: string[]
  /** The same after the cold-start table. */
  coldNotes: string[]
}

/** The rows of part `cold`: a section of their own, which `--only cold` rewrites alone. */
const isCold = (row: Row) => row.part === 'cold'

const machineLine = (m: Machine) =>
  `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.kernel}, Node ${m.node}, open files limit ${m.openFiles},
redis-server ${m.redis}.`

const COLD_BEGIN = '<!-- cold start: written by npm run bench (part cold) -->'
const COLD_END = '<!-- end of cold start -->'

/** The cold-start section; empty when the report has no such rows. */
const coldSection = (report: Report): string => {
  const rows = report.rows.filter(isCold)
  if (rows.length === 0) return ''
  return `${COLD_BEGIN}
## Cold start

Produced by \`${report.command}\` on ${stamp(report.startedAt)} UTC (\`npm run bench -- --only cold\` rewrites this
section alone). ${machineLine(report.machine)}

${table(rows)}

${report.coldNotes.map((n) => `- ${n}`).join('\n')}
${COLD_END}
`
}

const stamp = (date: Date) => date.toISOString().slice(0, 16).replace('T', ' ')

export const markdown = (report: Report): string => {
  const m = report.machine
  const cold = coldSection(report)
  return `# Benchmarks

Produced by \`${report.command}\` on ${stamp(report.startedAt)} UTC, in ${Math.round(report.durationS)} s.
Run it again with \`npm run bench\` (writes this file), \`npm run bench -- --check\` (exits 1 when a target is
missed), \`npm run bench -- --quick\` (a short smoke run that leaves this file alone) or
\`npm run bench -- --only main|overload|redis|unsigned|cold\` (one part).

${machineLine(m).replace(/\.$/, '')}. Load generator, servers, fake vendor and Redis all share these cores, on 127.0.0.1.

Figures over rounds read \`median (min–max)\`; each round of the hook ran next to a round of its baseline, in
alternating order.

${table(report.rows.filter((r) => !isCold(r)))}

${report.notes.map((n) => `- ${n}`).join('\n')}
${cold ? `\n${cold}` : ''}`
}

export const writeReport = (path: string, report: Report) => writeFileSync(path, markdown(report))

/** Replaces the cold-start section of the file at `path` (or appends it), leaving the rest as it was. */
export const writeColdSection = (path: string, report: Report) => {
  const section = coldSection(report)
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n'
  const begin = text.indexOf(COLD_BEGIN)
  const end = text.indexOf(COLD_END)
  const next =
    begin >= 0 && end > begin
      ? `${text.slice(0, begin)}${section}${text.slice(end + COLD_END.length + 1)}`
      : `${text.trimEnd()}\n\n${section}`
  writeFileSync(path, next)
}
