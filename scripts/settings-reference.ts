// `npm run docs:settings`: writes docs/settings.md from the settings tables in the code.
import { writeFileSync } from 'node:fs'
import { settingsMarkdown } from '../src/config/reference.js'

writeFileSync(new URL('../docs/settings.md', import.meta.url), settingsMarkdown())
