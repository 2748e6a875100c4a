/** The request was dropped with its connection: no error came, and no answer will. */
export class AnswerLost extends Error {
  override readonly name = 'AnswerLost'
  constructor() {
    super('the server closed the connection without an answer')
  }
}

/**
 * Why a request got no answer, in one line that names the cause. Node's fetch rejects every network failure with
 * the same `TypeError: fetch failed` and puts the socket's own error (`ECONNREFUSED`, a TLS code) in `cause`; an
 * `AbortSignal.timeout` rejects with a `TimeoutError`.
 */
export const whyUnanswered = (error: unknown, timeoutMs: number): string => {
  if (error instanceof Error && error.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`
  if (error instanceof AnswerLost) return error.message
  const cause = socketErrorOf(error)
  const code = typeof cause.code === 'string' ? cause.code : undefined
  const detail = oneLine(cause.message)
  // The Fetch standard's list of ports of other protocols (SMTP, SSH...), refused before connecting.
  if (code === undefined && detail === 'bad port') return 'fetch refuses this port, one of other protocols (bad port)'
  switch (code) {
    case 'ECONNREFUSED':
      return `connection refused: nothing listens there (${code})`
    case 'ENOTFOUND':
    case 'EAI_FAIL':
    case 'ENODATA':
      return `host not found (${code})`
    case 'EAI_AGAIN':
      return `host name lookup failed for now: the DNS server did not answer (${code})`
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return `the server closed the connection without an answer (${code})`
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `connection timed out: no server answered at that address (${code})`
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return `the server took too long to answer (${code})`
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `no route to the host (${code})`
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return `TLS handshake failed: the server does not speak TLS; is the URL http:// rather than https://? (${code})`
  }
  // Before the certificate test: ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE is the server refusing a certificate of ours.
  if (code?.startsWith('ERR_SSL_')) {
    // OpenSSL's message is a record of the library's internals; its reason is the part after "SSL routines:fn:".
    const reason = /SSL routines:[^:]*:([^:]+)/.exec(detail)?.[1] ?? detail
    return `TLS handshake failed: ${reason} (${code})`
  }
  if (code !== undefined && isCertificateCode(code)) {
    return `TLS: the server's certificate is not trusted: ${detail} (${code}); GoTrue refuses it too`
  }
  return code === undefined ? detail : `${detail} (${code})`
}

interface SocketError {
  code?: unknown
  message?: unknown
  cause?: unknown
  errors?: unknown
}

/**
 * The error the socket raised: the first in the `cause` chain with a code, else the innermost. Trying each address
 * of a host (IPv4 and IPv6) fails with an AggregateError holding each attempt's error: the first one speaks for all.
 */
const socketErrorOf = (error: unknown): { code: unknown; message: string } => {
  const chain: SocketError[] = []
  for (let e = error; typeof e === 'object' && e !== null && chain.length < 8; e = (e as SocketError).cause) {
    const { errors } = e as SocketError
    chain.push(e as SocketError, ...(Array.isArray(errors) ? (errors.slice(0, 1) as SocketError[]) : []))
  }
  const found = chain.find((e) => typeof e.code === 'string') ?? chain.at(-1)
  return { code: found?.code, message: String(found?.message ?? error) }
}

/** Certificate verification failures as Node names them: OpenSSL's X509_V_ERR names, and its own host name check. */
const isCertificateCode = (code: string) =>
  code.includes('CERT') || code.startsWith('UNABLE_TO_') || code === 'HOSTNAME_MISMATCH' || code === 'INVALID_CA'

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim()
