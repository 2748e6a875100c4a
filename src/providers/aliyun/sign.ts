import { hex, hmacSha256, sha256Hex } from '../../digest.js'

/**
 * Alibaba Cloud request signing V3 (ACS3-HMAC-SHA256), with WebCrypto only so that it runs wherever `fetch` does
 * (Node, Cloudflare Workers). The steps and their order follow Alibaba Cloud's signature V3 documentation; the SDK signs the same way.
 */

const ACS3_ALGORITHM = 'ACS3-HMAC-SHA256'

export interface Acs3Credentials {
  accessKeyId: string
  accessKeySecret: string
  /** STS token; signed as `x-acs-security-token`. */
  securityToken?: string
}

export interface Acs3Request {
  method?: string
  /** `host[:port]`, exactly as the request will carry it in its Host header. */
  host: string
  action: string
  version: string
  /** RPC parameters; they travel in the query string. */
  query: Record<string, string>
  body?: string
  /** `yyyy-MM-ddTHH:mm:ssZ`; see `acs3Date`. */
  date: string
  nonce: string
}

export interface Acs3Signed {
  /** Every header that was signed (including `host`) plus `authorization`. */
  headers: Record<string, string>
  canonicalRequest: string
  /** Hex SHA-256 of the canonical request, the second line of the string to sign. */
  canonicalRequestHash: string
  signature: string
}

/**
 * RFC 3986 encoding as Aliyun canonicalises it: only `A-Za-z0-9-_.~` stay as they are. `encodeURIComponent`
 * also keeps `!'()*`, which Aliyun encodes, so those are done by hand.
 */
export const percentEncode = (value: string): string =>
  encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)

/** Parameters sorted by name (by code unit, as the gateway sorts), `name=value` joined by `&`, both encoded. */
export const canonicalQuery = (query: Record<string, string>): string =>
  Object.keys(query)
    .sort()
    .map((name) => `${percentEncode(name)}=${percentEncode(query[name] ?? '')}`)
    .join('&')

/** The ACS3 date form: ISO 8601 in UTC to the second. */
export const acs3Date = (epochMs: number): string => new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z')

/** 32 hex characters, as the SDK's nonces. */
export const acs3Nonce = (): string => hex(crypto.getRandomValues(new Uint8Array(16)))

/**
 * Signs one RPC call and returns the headers to send.
 *
 * @example
 * const { headers } = await signAcs3(
 *   { host: 'dysmsapi.aliyuncs.com', action: 'SendSms', version: '2017-05-25', query, date: acs3Date(Date.now()), nonce: acs3Nonce() },
 *   { accessKeyId, accessKeySecret },
 * )
 */
export const signAcs3 = async (request: Acs3Request, credentials: Acs3Credentials): Promise<Acs3Signed> => {
  const body = request.body ?? ''
  const bodyHash = await sha256Hex(body)
  const signed: Record<string, string> = {
    host: request.host,
    'x-acs-action': request.action,
    'x-acs-version': request.version,
    'x-acs-date': request.date,
    'x-acs-signature-nonce': request.nonce,
    'x-acs-content-sha256': bodyHash,
  }
  if (credentials.securityToken) signed['x-acs-security-token'] = credentials.securityToken
  const names = Object.keys(signed).sort()
  const canonicalHeaders = names.map((name) => `${name}:${(signed[name] ?? '').trim()}\n`).join('')
  const signedHeaders = names.join(';')
  const canonicalRequest = [
    request.method ?? 'POST',
    '/',
    canonicalQuery(request.query),
    canonicalHeaders,
    signedHeaders,
    bodyHash,
  ].join('\n')
  const canonicalRequestHash = await sha256Hex(canonicalRequest)
  const signature = hex(await hmacSha256(credentials.accessKeySecret, `${ACS3_ALGORITHM}\n${canonicalRequestHash}`))
  return {
    headers: {
      ...signed,
      authorization: `${ACS3_ALGORITHM} Credential=${credentials.accessKeyId},SignedHeaders=${signedHeaders},Signature=${signature}`,
    },
    canonicalRequest,
    canonicalRequestHash,
    signature,
  }
}
