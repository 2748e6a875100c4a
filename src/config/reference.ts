/**
 * The settings reference: every table with its owner's documentation, in the order a reader sets them up. The
 * source of docs/settings.md (`npm run docs:settings` writes it, a test keeps it current) and of
 * `sms-hook check --settings`. Node only: the Worker never prints documentation, so its bundle leaves this out.
 */
import { DELIVERY_SETTING_DOCS, DELIVERY_SETTINGS } from '../delivery/config.js'
import { INBOX_SETTING_DOCS, INBOX_SETTINGS } from '../dev/routes.js'
import { GUARD_SETTING_DOCS, GUARD_SETTINGS } from '../guard/config.js'
import { BREAKER_SETTING_DOCS, BREAKER_SETTINGS } from '../hook/breaker.js'
import { HOOK_SETTING_DOCS, HOOK_SETTINGS } from '../hook/config.js'
import { ROUTING_SETTING_DOCS, ROUTING_SETTINGS } from '../hook/route.js'
import { MESSAGE_SETTING_DOCS, MESSAGE_SETTINGS } from '../message/build.js'
import { SERVER_SETTING_DOCS, SERVER_SETTINGS } from '../node/config.js'
import { ALIYUN_SETTING_DOCS, ALIYUN_SETTINGS } from '../providers/aliyun/config.js'
import { MESSAGEBIRD_SETTING_DOCS, MESSAGEBIRD_SETTINGS } from '../providers/messagebird.js'
import { REGISTRY_SETTING_DOCS, REGISTRY_SETTINGS } from '../providers/registry.js'
import { TENCENT_SETTING_DOCS, TENCENT_SETTINGS } from '../providers/tencent/index.js'
import { TEXTLOCAL_SETTING_DOCS, TEXTLOCAL_SETTINGS } from '../providers/textlocal.js'
import { TWILIO_SETTING_DOCS, TWILIO_SETTINGS } from '../providers/twilio.js'
import { VONAGE_SETTING_DOCS, VONAGE_SETTINGS } from '../providers/vonage.js'
import { STATE_SETTING_DOCS, STATE_SETTINGS } from '../store/config.js'
import { CORE_SETTING_DOCS, CORE_SETTINGS } from './index.js'
import { GOTRUE_OWN } from './names.js'
import type { Setting, SettingDocs, Settings } from './settings.js'

export interface SettingsSection {
  title: string
  settings: Settings
  docs: SettingDocs<Settings>
}

const section = <S extends Settings>(title: string, settings: S, docs: SettingDocs<S>): SettingsSection => ({
  title,
  settings,
  docs: docs as SettingDocs<Settings>,
})

export const SETTINGS_REFERENCE: readonly SettingsSection[] = [
  section('The hook', HOOK_SETTINGS, HOOK_SETTING_DOCS),
  section('Mode and logs', CORE_SETTINGS, CORE_SETTING_DOCS),
  section(
    'Providers and routing',
    { ...REGISTRY_SETTINGS, ...ROUTING_SETTINGS },
    { ...REGISTRY_SETTING_DOCS, ...ROUTING_SETTING_DOCS },
  ),
  section('Circuit breaker', BREAKER_SETTINGS, BREAKER_SETTING_DOCS),
  section('Messages and numbers', MESSAGE_SETTINGS, MESSAGE_SETTING_DOCS),
  section('Alibaba Cloud SMS (aliyun)', ALIYUN_SETTINGS, ALIYUN_SETTING_DOCS),
  section('Tencent Cloud SMS (tencent)', TENCENT_SETTINGS, TENCENT_SETTING_DOCS),
  section('Twilio (twilio)', TWILIO_SETTINGS, TWILIO_SETTING_DOCS),
  section('Vonage (vonage)', VONAGE_SETTINGS, VONAGE_SETTING_DOCS),
  section('MessageBird (messagebird)', MESSAGEBIRD_SETTINGS, MESSAGEBIRD_SETTING_DOCS),
  section('Textlocal (textlocal)', TEXTLOCAL_SETTINGS, TEXTLOCAL_SETTING_DOCS),
  section('The SMS-pumping guard', GUARD_SETTINGS, GUARD_SETTING_DOCS),
  section('Shared state', STATE_SETTINGS, STATE_SETTING_DOCS),
  section('Delivery receipts and the lookup', DELIVERY_SETTINGS, DELIVERY_SETTING_DOCS),
  section('The Node server', SERVER_SETTINGS, SERVER_SETTING_DOCS),
  section('The development inbox', INBOX_SETTINGS, INBOX_SETTING_DOCS),
]

const defaultOf = (setting: Setting): string => (setting.default === undefined ? '-' : `\`${setting.default}\``)

/** docs/settings.md, exactly. */
export const settingsMarkdown = (): string => {
  const lines = [
    '# Settings',
    '',
    'Every environment variable sms-hook reads, generated from the tables in the code (`npm run docs:settings`);',
    'a test keeps this page and the code alike. A variable named `SMS_HOOK_*`, `GOTRUE_SMS_*` or',
    "`GOTRUE_HOOK_SEND_SMS_*` that is neither here nor one of GoTrue's own stops production start-up, naming the",
    'closest known name; so does a near miss of `REDIS_URL`. A value wrapped in quotes is refused. Durations',
    'take a unit: `500ms`, `30s`, `2m`, `1h`, `1d`. `npx --no-install sms-hook check` reads a configuration',
    'and prints what it does, or every error, without starting.',
    '',
    `GoTrue's own variables that the hook leaves alone: ${GOTRUE_OWN.map((name) => `\`${name}\``).join(', ')}.`,
  ]
  for (const { title, settings, docs } of SETTINGS_REFERENCE) {
    lines.push('', `## ${title}`, '', '| Variable | Default | |', '| --- | --- | --- |')
    for (const [name, setting] of Object.entries(settings)) {
      const doc = docs[name]!.replaceAll('|', '\\|')
      lines.push(
        `| \`${name}\`${setting.secret ? ' (secret)' : ''} | ${defaultOf(setting).replaceAll('|', '\\|')} | ${doc} |`,
      )
    }
  }
  return `${lines.join('\n')}\n`
}
