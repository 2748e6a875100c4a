import type { DeliveryUpdate } from '../delivery/types.js'

/** One receipt request as a vendor module sees it: bounded and read once by the routes (`routes.ts`). */
export interface ReceiptRequest {
  method: 'GET' | 'POST'
  /**
   * The URL the vendor was given for it, as configured: SMS_HOOK_PUBLIC_URL with the request's path and query,
   * not the Host a proxy passed on. What Twilio and MessageBird sign.
   */
  url: string
  /** The query parameters, in order. */
  query: URLSearchParams
  headers: Headers
  /** The raw body, as text (empty for GET). */
  body: string
  /** The body read as a form, when it is `application/x-www-form-urlencoded`. */
  form?: URLSearchParams
}

/** What a vendor's report request says: an update per report it could read, and how many it could not. */
export interface ParsedReceipts {
  updates: DeliveryUpdate[]
  /** Reports in the request that were malformed: counted as refused, the others still applied. */
  malformed: number
}

/**
 * One vendor's delivery reports: how its pushes are authenticated, read, and answered. Vendors sit side by
 * side in this folder; `routes.ts` lists them.
 */
export interface ReceiptVendor {
  /** The provider name whose sends its reports move (`aliyun`, `tencent`, `twilio`, `vonage`, `messagebird`). */
  readonly provider: string
  /**
   * `token`: served at `/receipts/<provider>/<SMS_HOOK_RECEIPTS_TOKEN>`, the path token being the guard (a wrong
   * one answers 404); `signature`: served at `/receipts/<provider>`, every request checked by `verify` (403).
   */
  readonly auth: 'token' | 'signature'
  readonly methods: readonly ('GET' | 'POST')[]
  /**
   * Answers a `GET` with its acknowledgement and reads nothing: Alibaba Cloud's console checks a callback address
   * that way before it saves it. Only behind the path token, like the reports themselves.
   */
  readonly probe?: boolean
  /** The largest body taken (413 past it). */
  readonly maxBodyBytes: number
  /**
   * Checks the vendor's own signature where the operator configured its secret (Vonage, MessageBird) or always
   * (Twilio). False: answered 403, nothing changes.
   */
  verify?(request: ReceiptRequest, now: number): Promise<boolean>
  /** Reads the reports; undefined when the request as a whole is not one (answered 400, nothing changes). */
  parse(request: ReceiptRequest, now: number): ParsedReceipts | undefined
  /** The answer the vendor expects once the reports are taken (Aliyun `{"code":0,...}`, Tencent `{"result":0,...}`). */
  answer(): Response
}
