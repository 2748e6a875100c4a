import type { DeliveryConfig } from './config.js'

/**
 * The per-message receipt URL of each vendor that takes one (`ProviderDeps.receiptUrl`): Twilio's is signed by
 * Twilio and carries our reference (`?ref=`); Vonage's and MessageBird's carry the path token, their reports
 * carrying our reference themselves (`client-ref`, `reference`). Undefined when receipts are off or the settings
 * a vendor's URL needs are missing: the provider then asks for no receipt.
 */
export const receiptUrls =
  (config: DeliveryConfig) =>
  (vendor: string, reference: string): string | undefined => {
    const { enabled, publicUrl, receiptsToken } = config
    if (!enabled || publicUrl === undefined) return undefined
    if (vendor === 'twilio') return `${publicUrl}/receipts/twilio?ref=${encodeURIComponent(reference)}`
    if (receiptsToken === undefined) return undefined
    return `${publicUrl}/receipts/${vendor}/${receiptsToken}`
  }
