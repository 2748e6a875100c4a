import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { NODE_SERVER_NAMES, SHARED_SETTINGS } from '../../src/config/index.js'
import { GOTRUE_OWN } from '../../src/config/names.js'
import { settingsMarkdown, SETTINGS_REFERENCE } from '../../src/config/reference.js'
import { SERVER_SETTINGS } from '../../src/node/config.js'

/** Every name in the source's code (comments aside) that looks like a setting: what the code could read. */
const namesInSource = (dir = 'src'): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return namesInSource(path)
    if (!entry.name.endsWith('.ts')) return []
    const code = readFileSync(path, 'utf8')
      .split('\n')
      .filter((line) => !/^\s*(\/\/|\/?\*)/.test(line))
      .join('\n')
    return [...code.matchAll(/['"`]((?:GOTRUE|SMS_HOOK|REDIS)_[A-Z0-9_]*[A-Z0-9])['"`]/g)].map((m) => m[1]!)
  })

describe('the settings reference', () => {
  const documented = SETTINGS_REFERENCE.flatMap((section) => Object.keys(section.settings))

  it('documents every setting the code declares, once, and nothing else', () => {
    const declared = [...SHARED_SETTINGS, SERVER_SETTINGS].flatMap((table) => Object.keys(table))
    expect([...documented].sort()).toEqual([...new Set(declared)].sort())
    expect(new Set(documented).size).toBe(documented.length)
    for (const section of SETTINGS_REFERENCE)
      for (const name of Object.keys(section.settings)) expect(section.docs[name], name).toMatch(/\S{3}/)
  })

  it('keeps the Node-only names the shared typo check knows equal to the server table', () => {
    expect(Object.keys(SERVER_SETTINGS).filter((name) => name.startsWith('SMS_HOOK_'))).toEqual([...NODE_SERVER_NAMES])
  })

  it('is docs/settings.md exactly (npm run docs:settings writes it)', () => {
    expect(readFileSync('docs/settings.md', 'utf8')).toBe(settingsMarkdown())
  })

  it('holds every variable named in the source, and the source names every one it holds', () => {
    const own = new Set<string>(GOTRUE_OWN)
    const inSource = new Set(namesInSource().filter((name) => !own.has(name)))
    expect([...inSource].sort()).toEqual(
      [...new Set(documented)]
        .filter((name) => name !== 'PORT' && name !== 'HOST' && name !== 'NODE_ENV' && name !== 'LOG_LEVEL')
        .sort(),
    )
  })
})
