import type { Env } from '../config/env.js'
import { boolean, duration, get, oneOf, token, type SettingDocs, type Settings } from '../config/settings.js'
import { ConfigError } from '../errors.js'

/** What the hook does after handing a message over (docs/receipts.md). */
export interface DeliveryConfig {
  /** `SMS_HOOK_RECEIPTS`: keep a delivery record per send (receipts, lookup, resend rotation, reconciliation). */
  enabled: boolean
  /** `SMS_HOOK_RECEIPT_TTL`: how long each send's record is kept, from its last change. */
  ttlMs: number
  /** `SMS_HOOK_RECEIPTS_TOKEN`: the path token of `/receipts/<vendor>/<token>`; no token-path routes without it. */
  receiptsToken: string | undefined
  /** `SMS_HOOK_PUBLIC_URL`, without a trailing slash: the base of the per-message receipt URLs (Twilio, Vonage, MessageBird). */
  publicUrl: string | undefined
  /** `SMS_HOOK_RESEND_WINDOW`: a code asked for within this of the last send to a number is a resend. */
  resendWindowMs: number
  /** `SMS_HOOK_RESEND_ROTATE`: a resend tries the route's providers with the previous one last. */
  resendRotate: boolean
  /** `SMS_HOOK_ADMIN_TOKEN`: the bearer token of `GET /deliveries`; no such routes without it. */
  adminToken: string | undefined
  /** `SMS_HOOK_VONAGE_SIGNATURE_SECRET` and `_METHOD`: Vonage's signed delivery receipts, checked when set. */
  vonageSignature: { secret: string; method: VonageSignatureMethod } | undefined
  /** `SMS_HOOK_MESSAGEBIRD_SIGNING_KEY`: MessageBird's signed status reports (JWT), checked when set. */
  messagebirdSigningKey: string | undefined
}

export const VONAGE_SIGNATURE_METHODS = ['md5hash', 'md5', 'sha1', 'sha256', 'sha512'] as const
export type VonageSignatureMethod = (typeof VONAGE_SIGNATURE_METHODS)[number]

/** Aliyun's QuerySendDetails reaches 30 days back; a record kept longer could no longer be checked. */
const MAX_TTL_MS = 30 * 86_400_000

/** Characters a token may hold to sit in a URL path as it is. */
const PATH_SAFE = /[^A-Za-z0-9._~-]/

export const DELIVERY_SETTINGS = {
  SMS_HOOK_RECEIPTS: { parse: boolean, default: 'on' },
  SMS_HOOK_RECEIPT_TTL: { parse: duration({ min: 60_000, max: MAX_TTL_MS }), default: '24h' },
  SMS_HOOK_RECEIPTS_TOKEN: { parse: token(PATH_SAFE, 'characters other than A-Z a-z 0-9 . _ ~ -'), secret: true },
  SMS_HOOK_PUBLIC_URL: { parse: (value, name) => publicUrl(value, name) },
  SMS_HOOK_RESEND_WINDOW: { parse: duration({ min: 1000, max: 86_400_000 }), default: '10m' },
  SMS_HOOK_RESEND_ROTATE: { parse: boolean, default: 'on' },
  SMS_HOOK_ADMIN_TOKEN: { parse: token(), secret: true },
  SMS_HOOK_VONAGE_SIGNATURE_SECRET: { parse: (value) => value, secret: true },
  SMS_HOOK_VONAGE_SIGNATURE_METHOD: { parse: oneOf(VONAGE_SIGNATURE_METHODS), default: 'md5hash' },
  SMS_HOOK_MESSAGEBIRD_SIGNING_KEY: { parse: (value) => value, secret: true },
} as const satisfies Settings

export const DELIVERY_SETTING_DOCS: SettingDocs<typeof DELIVERY_SETTINGS> = {
  SMS_HOOK_RECEIPTS:
    'on (default) keeps a delivery record of every send: receipts, the lookup, resend rotation and reconciliation; off keeps none.',
  SMS_HOOK_RECEIPT_TTL: "How long each send's delivery record is kept after its last change (1m to 30d).",
  SMS_HOOK_RECEIPTS_TOKEN:
    'The secret path token of /receipts/<vendor>/<token> (Alibaba Cloud, Tencent Cloud, Vonage, MessageBird); at least 16 URL-safe characters.',
  SMS_HOOK_PUBLIC_URL:
    'The https base URL GoTrue and the vendors reach this hook at (http only for localhost and 127.0.0.1): the base of the per-message receipt URLs.',
  SMS_HOOK_RESEND_WINDOW: 'A code asked for within this of the last send to the same number is a resend.',
  SMS_HOOK_RESEND_ROTATE:
    'on (default): a resend whose previous send is not known to be delivered tries the other providers of its route first; off: routes keep their order.',
  SMS_HOOK_ADMIN_TOKEN:
    'The bearer token of GET /deliveries (the support lookup); without it those routes do not exist. At least 16 characters.',
  SMS_HOOK_VONAGE_SIGNATURE_SECRET:
    "Vonage's signature secret: when set, a delivery receipt without a valid sig is refused.",
  SMS_HOOK_VONAGE_SIGNATURE_METHOD:
    'The signature method of the Vonage account: md5hash (default), md5, sha1, sha256 or sha512.',
  SMS_HOOK_MESSAGEBIRD_SIGNING_KEY:
    "MessageBird's signing key: when set, a status report without a valid MessageBird-Signature-JWT is refused.",
}

/**
 * The hook's public base URL: https, or http for this machine only (a vendor's receipts over plain http would
 * carry our reference and status in clear across the internet). No query or fragment: paths are appended.
 */
const publicUrl = (value: string, name: string): string => {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(name, `must be a full URL such as https://sms-hook.example.com, got "${value}"`)
  }
  const local = url.hostname === 'localhost' || url.hostname === '127.0.0.1'
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) {
    throw new ConfigError(name, `must be https:// (http:// only for localhost and 127.0.0.1), got "${value}"`)
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new ConfigError(name, `must be a base URL without query, fragment or credentials, got "${value}"`)
  }
  return url.href.replace(/\/+$/, '')
}

export const parseDeliveryConfig = (env: Env): DeliveryConfig => {
  const vonageSecret = get(env, DELIVERY_SETTINGS, 'SMS_HOOK_VONAGE_SIGNATURE_SECRET')
  return {
    enabled: get(env, DELIVERY_SETTINGS, 'SMS_HOOK_RECEIPTS'),
    ttlMs: get(env, DELIVERY_SETTINGS, 'SMS_HOOK_RECEIPT_TTL'),
    receiptsToken: get(env, DELIVERY_SETTINGS, 'SMS_HOOK_RECEIPTS_TOKEN'),
    publicUrl: get(env, DELIVERY_SETTINGS, 'SMS_HOOK_PUBLIC_URL'),
    resendWindowMs: get(env, DELIVERY_SETTINGS, 'SMS_HOOK_RESEND_WINDOW'),
    resendRotate: get(env, DELIVERY_SETTINGS, 'SMS_HOOK_RESEND_ROTATE'),
    adminToken: get(env, DELIVERY_SETTINGS, 'SMS_HOOK_ADMIN_TOKEN'),
    vonageSignature:
      vonageSecret === undefined
        ? undefined
        : { secret: vonageSecret, method: get(env, DELIVERY_SETTINGS, 'SMS_HOOK_VONAGE_SIGNATURE_METHOD') },
    messagebirdSigningKey: get(env, DELIVERY_SETTINGS, 'SMS_HOOK_MESSAGEBIRD_SIGNING_KEY'),
  }
}
