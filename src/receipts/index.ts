import type { Config } from '../config/index.js'
import { aliyunReceipts } from './aliyun.js'
import { messagebirdReceipts } from './messagebird.js'
import { tencentReceipts } from './tencent.js'
import { twilioReceipts } from './twilio.js'
import { vonageReceipts } from './vonage.js'
import type { ReceiptVendor } from './types.js'

/** One vendor's receipts as the configuration allows them: undefined when its settings are missing. */
type VendorFactory = (config: Config) => ReceiptVendor | undefined

/**
 * Alibaba Cloud and Tencent Cloud do not sign their pushes: without the path token nothing guards them. Served only
 * while a route uses the provider, as the other vendors' are: a report can only move a send of this deployment.
 */
const tokenGuarded =
  (vendor: ReceiptVendor): VendorFactory =>
  (config) =>
    config.delivery.receiptsToken === undefined ||
    !config.routing.providers.some((provider) => provider.name === vendor.provider)
      ? undefined
      : vendor

/** Every vendor whose delivery reports the hook takes, side by side; `routes.ts` serves each. */
const VENDORS: readonly VendorFactory[] = [
  tokenGuarded(aliyunReceipts),
  tokenGuarded(tencentReceipts),
  // Signed by Twilio itself, at /receipts/twilio; Vonage and MessageBird behind the path token, their own
  // signatures checked where the operator set the secret. Each only when its provider is in use.
  twilioReceipts,
  vonageReceipts,
  messagebirdReceipts,
]

/** The receipt vendors this configuration serves. */
export const receiptVendors = (config: Config): ReceiptVendor[] =>
  VENDORS.map((factory) => factory(config)).filter((vendor) => vendor !== undefined)
