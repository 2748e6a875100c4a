import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'

/** Git-ignored, so a development secret never lands in a commit. */
export const DEV_SECRET_FILE = '.sms-hook-dev-secret'

/** A new Standard Webhooks secret in GoTrue's form: `v1,whsec_` + 32 random bytes in base64. */
export const generateSecret = (): string => `v1,whsec_${randomBytes(32).toString('base64')}`

/**
 * The development secret: read from `file` when an earlier run left one, so GoTrue's settings stay valid across
 * restarts; otherwise created and saved (readable by its owner only).
 */
export const loadOrCreateDevSecret = (file = DEV_SECRET_FILE): { secret: string; created: boolean } => {
  try {
    const secret = readFileSync(file, 'utf8').trim()
    if (secret) return { secret, created: false }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  const secret = generateSecret()
  writeFileSync(file, `${secret}\n`, { mode: 0o600 })
  return { secret, created: true }
}
