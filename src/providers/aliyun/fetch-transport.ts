import { answerOf, parseRetryAfter } from './classify.js'
import { acs3Date, acs3Nonce, canonicalQuery, signAcs3 } from './sign.js'
import { ACTIONS, rpcParams, type AliyunTransportFactory } from './transport.js'

/**
 * Calls Alibaba Cloud with `fetch` and WebCrypto alone, for runtimes without Node's http (Cloudflare Workers),
 * and on Node with `GOTRUE_SMS_ALIYUN_TRANSPORT=fetch`. RPC style: `POST /` with every parameter in the
 * query string and an empty body, signed ACS3-HMAC-SHA256 as the SDK does.
 */
export const createFetchTransport: AliyunTransportFactory = (config, { clock, fetch }) => ({
  name: 'fetch',
  async call(request, { signal }) {
    const { product, version } = ACTIONS[request.action]
    const endpoint = new URL(config.endpoints[product])
    const query = rpcParams(request)
    const { headers } = await signAcs3(
      { host: endpoint.host, action: request.action, version, query, date: acs3Date(clock.now()), nonce: acs3Nonce() },
      config,
    )
    // fetch derives Host from the URL, the same `endpoint.host` that was signed.
    const { host: _host, ...rest } = headers
    // A failure here (no answer, or an answer cut short) is read by the provider, as for the SDK transport.
    const response = await fetch(`${endpoint.origin}/?${canonicalQuery(query)}`, {
      method: 'POST',
      headers: { ...rest, accept: 'application/json', 'user-agent': 'sms-hook' },
      signal,
    })
    const text = await response.text()
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      // A proxy's HTML error page: the status alone is classified.
    }
    return answerOf(response.status, body, parseRetryAfter(response.headers.get('x-acs-retry-after')))
  },
})
