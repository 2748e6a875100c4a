/**
 * The official SDK transport, Node only (the SDK speaks through Node's http). Never import it from code that
 * also runs on Workers: the Node entry passes `createSdkTransport` in as `ProviderDeps.aliyunSdkTransport`.
 */
import Dypnsapi, * as $Dypnsapi from '@alicloud/dypnsapi20170525'
import Dysmsapi, * as $Dysmsapi from '@alicloud/dysmsapi20170525'
import { $OpenApiUtil } from '@alicloud/openapi-core'
import * as $dara from '@darabonba/typescript'
import { answerOf, notAliyunJson } from './classify.js'
import type { AliyunConfig } from './config.js'
import type { AliyunAnswer, AliyunSendDetail, AliyunTransportFactory } from './transport.js'

/**
 * Calls SendSms, QuerySendDetails and SendSmsVerifyCode through `@alicloud/dysmsapi20170525` and
 * `@alicloud/dypnsapi20170525`.
 * The SDK cannot be aborted, so each call's connect and read timeouts are what is left of the hook's deadline:
 * a call never outlives the hook's answer. The SDK's own retries stay off; the hook retries and fails over.
 */
export const createSdkTransport: AliyunTransportFactory = (config, { clock }) => {
  const sms = new (commonJsDefault(Dysmsapi))(clientConfig(config, config.endpoints.dysmsapi))
  const pnv = new (commonJsDefault(Dypnsapi))(clientConfig(config, config.endpoints.dypnsapi))
  return {
    name: 'sdk',
    async call(request, { deadline }) {
      const left = Math.max(1, deadline - clock.now())
      const runtime = new $dara.RuntimeOptions({ connectTimeout: left, readTimeout: left, autoretry: false })
      const { action: _action, ...fields } = request
      try {
        if (request.action === 'SendSms') {
          const { statusCode, body } = await sms.sendSmsWithOptions(new $Dysmsapi.SendSmsRequest(fields), runtime)
          return { status: statusCode ?? 200, ...bodyFields(body), bizId: body?.bizId }
        }
        if (request.action === 'QuerySendDetails') {
          const { statusCode, body } = await sms.querySendDetailsWithOptions(
            new $Dysmsapi.QuerySendDetailsRequest({
              ...fields,
              pageSize: Number(request.pageSize),
              currentPage: Number(request.currentPage),
            }),
            runtime,
          )
          return { status: statusCode ?? 200, ...bodyFields(body), details: sendDetails(body) }
        }
        const { statusCode, body } = await pnv.sendSmsVerifyCodeWithOptions(
          new $Dypnsapi.SendSmsVerifyCodeRequest(fields),
          runtime,
        )
        return { status: statusCode ?? 200, ...bodyFields(body), bizId: body?.model?.bizId }
      } catch (error) {
        const answer = sdkErrorAnswer(error)
        if (answer) return answer
        // The SDK parses every body as JSON before it looks at the status: a proxy's page fails right there.
        if (error instanceof SyntaxError) throw notAliyunJson('a body that is not JSON')
        throw error
      }
    },
  }
}

/**
 * The SDK is CommonJS with `exports.default = Client`. Node's ESM loader hands the whole `exports` to a default
 * import, while vitest and bundlers unwrap it to the class: accept both.
 */
const commonJsDefault = <T>(imported: { default: T }): T =>
  typeof imported === 'function' ? (imported as T) : imported.default

/** The endpoint is given explicitly: the SDK's own region map differs from the one in `config.ts`. */
const clientConfig = (config: AliyunConfig, endpoint: string) => {
  const url = new URL(endpoint)
  return new $OpenApiUtil.Config({
    accessKeyId: config.accessKeyId,
    accessKeySecret: config.accessKeySecret,
    securityToken: config.securityToken,
    regionId: config.regionId,
    endpoint: url.host,
    protocol: url.protocol === 'http:' ? 'HTTP' : 'HTTPS',
    userAgent: 'sms-hook',
  })
}

/** QuerySendDetails' entries as the SDK's model has them, in the shape the fetch transport reads too. */
const sendDetails = (body: $Dysmsapi.QuerySendDetailsResponseBody | undefined): AliyunSendDetail[] =>
  (body?.smsSendDetailDTOs?.smsSendDetailDTO ?? []).map((dto) => ({
    phoneNum: dto.phoneNum || undefined,
    sendStatus: dto.sendStatus,
    errCode: dto.errCode || undefined,
    outId: dto.outId || undefined,
    sendDate: dto.sendDate || undefined,
    receiveDate: dto.receiveDate || undefined,
  }))

const bodyFields = (body: { code?: string; message?: string; requestId?: string } | undefined) => ({
  code: body?.code || undefined,
  message: body?.message,
  requestId: body?.requestId,
})

/**
 * The SDK throws `ClientError`, `ServerError` or `ThrottlingError` for HTTP 4xx/5xx, keeping Aliyun's JSON in
 * `data` and `x-acs-retry-after` in `retryAfter`: an answer after all. A network failure is rethrown as it is,
 * for the provider to read as every provider does.
 */
const sdkErrorAnswer = (error: unknown): AliyunAnswer | undefined => {
  if (!(error instanceof Error) || !['ClientError', 'ServerError', 'ThrottlingError'].includes(error.name))
    return undefined
  const { statusCode, data, retryAfter } = error as Error & { statusCode?: number; data?: unknown; retryAfter?: number }
  if (typeof statusCode !== 'number') return undefined
  return answerOf(statusCode, data, typeof retryAfter === 'number' ? retryAfter : undefined)
}
