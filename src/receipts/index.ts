import type { Config } from '../config/index.js'
import { aliyunReceipts } from './aliyun.js'
import { tencentReceipts } from './tencent.js'
import type { ReceiptVendor } from './types.js'

/** One vendor's receipts as the configuration allows them: undefined when its settings are missing. */
type VendorFactory = (config: Config) => ReceiptVendor | undefined

/** Alibaba Cloud and Tencent Cloud do not sign their pushes: without the path token nothing guards them. */
const tokenGuarded =
  (vendor: ReceiptVendor): VendorFactory =>
  (config) =>
    config.delivery.receiptsToken === undefined ? undefined : vendor

/** Every vendor whose delivery reports the hook takes, side by side; `routes.ts` serves each. */
const VENDORS: readonly VendorFactory[] = [
  tokenGuarded(aliyunReceipts),
  tokenGuarded(tencentReceipts),
  // Twilio (signed, at /receipts/twilio), Vonage and MessageBird (path token, signed where configured).
]

/** The receipt vendors this configuration serves. */
export const receiptVendors = (config: Config): ReceiptVendor[] =>
  VENDORS.map((factory) => factory(config)).filter((vendor) => vendor !== undefined)
