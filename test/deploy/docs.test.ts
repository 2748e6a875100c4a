/**
 * The README and docs/ held to the repository: the README stays a few screens, every relative link (and the
 * heading it points at) exists, every `npm run` names a script, and every variable they name is one the code reads
 * or one of GoTrue's own.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '../..')
const README = join(ROOT, 'README.md')
const README_MAX_LINES = 250

/** Pages the README's table of contents promises. */
const PROMISED_PAGES = [
  'docs/settings.md',
  'docs/deploy-container.md',
  'docs/deploy-alibaba-cloud.md',
  'docs/deploy-kubernetes.md',
  'docs/operations.md',
  'docs/cli.md',
]

/** Variables that GoTrue itself reads: the docs name them to say what to set on GoTrue's side. */
const GOTRUE_OWN = new Set([
  'GOTRUE_HOOK_SEND_SMS_ENABLED',
  'GOTRUE_HOOK_SEND_SMS_URI',
  'GOTRUE_HOOK_SEND_SMS_SECRETS',
  'GOTRUE_SMS_AUTOCONFIRM',
  'GOTRUE_SMS_MAX_FREQUENCY',
  'GOTRUE_SMS_OTP_EXP',
  'GOTRUE_SMS_OTP_LENGTH',
  'GOTRUE_SMS_TEST_OTP',
  'GOTRUE_SMS_TEST_OTP_VALID_UNTIL',
  'GOTRUE_EXTERNAL_PHONE_ENABLED',
  'GOTRUE_JWT_SECRET',
])

/** Every provider module, and the words the README's introduction names it by. */
const VENDORS: Record<string, string[]> = {
  aliyun: ['Alibaba Cloud SMS', 'SendSmsVerifyCode', 'GOTRUE_SMS_ALIYUN_IS_TEST'],
  tencent: ['Tencent Cloud SMS'],
  twilio: ['Twilio'],
  vonage: ['Vonage'],
  messagebird: ['MessageBird'],
  textlocal: ['Textlocal'],
  console: ['console'],
}

const VARIABLE = /\b(?:GOTRUE|SMS_HOOK|REDIS)_[A-Z0-9_]+/g

const filesUnder = (dir: string, suffix: string): string[] =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith(suffix))
    .map((name) => join(dir, name))
    .sort()

const DOCS = [README, ...filesUnder(join(ROOT, 'docs'), '.md')]
const textOf = (file: string) => readFileSync(file, 'utf8')
const nameOf = (file: string) => relative(ROOT, file)

/** Markdown without code: a `[x](y)` inside a fence or a code span is an example, not a link. */
const FENCE = /^```[^\n]*\n[\s\S]*?^```$/gm
const prose = (markdown: string): string => markdown.replace(FENCE, '').replace(/`[^`\n]*`/g, '')

/** The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
const anchorsOf = (markdown: string): Set<string> => {
  const seen = new Map<string, number>()
  const anchors = new Set<string>()
  for (const [, heading] of markdown.replace(FENCE, '').matchAll(/^#{1,6}\s+(.+?)\s*#*$/gm)) {
    const base = heading!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-')
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    anchors.add(count === 0 ? base : `${base}-${count}`)
  }
  return anchors
}

interface Link {
  from: string
  target: string
}

const relativeLinks = (file: string): Link[] =>
  [...prose(textOf(file)).matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1]!)
    .filter((target) => !/^[a-z][a-z+.-]*:/i.test(target))
    .map((target) => ({ from: nameOf(file), target }))

const srcVariables = (): Set<string> => {
  const names = new Set<string>()
  for (const file of filesUnder(join(ROOT, 'src'), '.ts')) {
    for (const [name] of textOf(file).matchAll(VARIABLE)) names.add(name)
  }
  return names
}

describe('the README', () => {
  it(`fits in ${README_MAX_LINES} lines`, () => {
    expect(textOf(README).split('\n').length).toBeLessThanOrEqual(README_MAX_LINES)
  })

  it('names every provider the registry has, on its first screen', () => {
    const registry = textOf(join(ROOT, 'src/providers/registry.ts'))
    const pages = filesUnder(join(ROOT, 'docs/providers'), '.md').map((file) => nameOf(file))
    const firstScreen = textOf(README).split('\n## ')[0]!
    for (const [vendor, words] of Object.entries(VENDORS)) {
      expect(registry).toContain(`from './${vendor}`)
      expect(pages).toContain(`docs/providers/${vendor}.md`)
      for (const word of words) expect(firstScreen).toContain(word)
    }
  })

  it('has every page it promises', () => {
    for (const page of PROMISED_PAGES) expect(existsSync(join(ROOT, page)), page).toBe(true)
  })
})

describe('the README and docs/', () => {
  it('have a page for every provider module in src/providers', () => {
    const modules = readdirSync(join(ROOT, 'src/providers'), { withFileTypes: true })
      .map((entry) => entry.name.replace(/\.ts$/, ''))
      .filter((name) => !['http', 'registry', 'scrub', 'types'].includes(name))
    expect(modules.sort()).toEqual(Object.keys(VENDORS).sort())
  })

  it('link only to files that exist, and to headings those files have', () => {
    const broken: string[] = []
    for (const file of DOCS) {
      for (const { from, target } of relativeLinks(file)) {
        const [path, anchor] = target.split('#') as [string, string | undefined]
        const resolved = path === '' ? file : resolve(dirname(file), decodeURIComponent(path))
        if (!existsSync(resolved)) {
          broken.push(`${from}: ${target}`)
          continue
        }
        if (anchor !== undefined && resolved.endsWith('.md') && !anchorsOf(textOf(resolved)).has(anchor)) {
          broken.push(`${from}: ${target} (no such heading)`)
        }
      }
    }
    expect(broken).toEqual([])
  })

  it('run only npm scripts that package.json has', () => {
    const scripts = Object.keys((JSON.parse(textOf(join(ROOT, 'package.json'))) as { scripts: object }).scripts)
    const unknown: string[] = []
    for (const file of DOCS) {
      for (const [, run, builtIn] of textOf(file).matchAll(/\bnpm (?:run ([a-z](?:[\w:-]*\w)?)|(test|start)\b)/g)) {
        const script = run ?? builtIn!
        if (!scripts.includes(script)) unknown.push(`${nameOf(file)}: ${script}`)
      }
    }
    expect(unknown).toEqual([])
  })

  it('name only variables the code reads, or GoTrue reads', () => {
    const known = srcVariables()
    // `GOTRUE_SMS_ALIYUN_*` names a family: some variable of the code must begin so.
    const isKnown = (name: string) =>
      name.endsWith('_') ? [...known].some((k) => k.startsWith(name)) : known.has(name) || GOTRUE_OWN.has(name)
    const unknown: string[] = []
    for (const file of DOCS) {
      for (const [name] of textOf(file).matchAll(VARIABLE)) {
        if (!isKnown(name)) unknown.push(`${nameOf(file)}: ${name}`)
      }
    }
    expect(unknown).toEqual([])
  })
})
