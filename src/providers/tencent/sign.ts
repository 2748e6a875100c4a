import { hex, hmacSha256, sha256Hex } from '../../digest.js'

/**
 * Tencent Cloud API signing v3 (TC3-HMAC-SHA256), with WebCrypto only so that it runs wherever `fetch` does.
 * It follows the official SDK's `Sign.sign3` (tencentcloud-sdk-nodejs-common), which a Node-only test uses as
 * an oracle: `content-type` and `host` signed, an empty query, the body's SHA-256.
 */

const TC3_ALGORITHM = 'TC3-HMAC-SHA256'

export interface Tc3Credentials {
  secretId: string
  secretKey: string
}

export interface Tc3Request {
  /** The service in the credential scope and the key chain, `sms` for SendSms. */
  service: string
  /**
   * The endpoint's host name, without a port: the SDK signs `URL.hostname`. Tencent's own hosts use the
   * default port, where the two are the same.
   */
  host: string
  contentType: string
  body: string
  /** Unix seconds; also sent as `X-TC-Timestamp`, and its UTC date scopes the credential. */
  timestamp: number
}

export interface Tc3Signed {
  authorization: string
  canonicalRequest: string
  stringToSign: string
}

/**
 * Signs one `POST /` call and returns the `Authorization` header.
 *
 * @example
 * const { authorization } = await signTc3(
 *   { service: 'sms', host: 'sms.tencentcloudapi.com', contentType, body, timestamp: Math.floor(Date.now() / 1000) },
 *   { secretId, secretKey },
 * )
 */
export const signTc3 = async (request: Tc3Request, credentials: Tc3Credentials): Promise<Tc3Signed> => {
  const signedHeaders = 'content-type;host'
  const canonicalRequest = [
    'POST',
    '/',
    '',
    `content-type:${request.contentType}\nhost:${request.host}\n`,
    signedHeaders,
    await sha256Hex(request.body),
  ].join('\n')
  const date = tc3Date(request.timestamp)
  const scope = `${date}/${request.service}/tc3_request`
  const stringToSign = [TC3_ALGORITHM, String(request.timestamp), scope, await sha256Hex(canonicalRequest)].join('\n')
  let key = await hmacSha256(`TC3${credentials.secretKey}`, date)
  key = await hmacSha256(key, request.service)
  key = await hmacSha256(key, 'tc3_request')
  const signature = hex(await hmacSha256(key, stringToSign))
  return {
    authorization: `${TC3_ALGORITHM} Credential=${credentials.secretId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    canonicalRequest,
    stringToSign,
  }
}

/** `yyyy-MM-dd` in UTC, as the credential scope wants it. */
const tc3Date = (timestamp: number): string => new Date(timestamp * 1000).toISOString().slice(0, 10)
