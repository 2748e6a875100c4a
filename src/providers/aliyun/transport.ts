import type { Clock } from '../../clock.js'
import type { SendOptions } from '../types.js'
import type { AliyunConfig, AliyunTransportName } from './config.js'

/** dysmsapi `SendSms`: the production route. Field names are the SDK's; the RPC names capitalise them. */
export interface SendSmsRequest {
  action: 'SendSms'
  phoneNumbers: string
  signName: string
  templateCode: string
  templateParam: string
  outId: string
}

/** dypnsapi `SendSmsVerifyCode`: the free test route with the system signature and template. */
export interface SendSmsVerifyCodeRequest {
  action: 'SendSmsVerifyCode'
  phoneNumber: string
  countryCode: string
  signName: string
  templateCode: string
  templateParam: string
  outId: string
}

/**
 * dysmsapi `QuerySendDetails`: the sends to one number on one day (China time), for reconciliation. Numbers
 * travel as strings, as every RPC parameter does.
 */
export interface QuerySendDetailsRequest {
  action: 'QuerySendDetails'
  /** One number, in the form SendSms sent it. */
  phoneNumber: string
  /** `yyyyMMdd`, China time. */
  sendDate: string
  pageSize: string
  currentPage: string
  /** SendSms's BizId, when its answer came: only that send is listed. */
  bizId?: string
}

export type AliyunRequest = SendSmsRequest | SendSmsVerifyCodeRequest | QuerySendDetailsRequest

/** Which product and API version serve each action; the endpoint of each product is in `AliyunConfig`. */
export const ACTIONS = {
  SendSms: { product: 'dysmsapi', version: '2017-05-25' },
  SendSmsVerifyCode: { product: 'dypnsapi', version: '2017-05-25' },
  QuerySendDetails: { product: 'dysmsapi', version: '2017-05-25' },
} as const

/** The RPC parameters of a request: `phoneNumbers` -> `PhoneNumbers`; an optional one left unset is not sent. */
export const rpcParams = (request: AliyunRequest): Record<string, string> => {
  const { action: _action, ...fields } = request
  return Object.fromEntries(
    Object.entries(fields)
      .filter((entry): entry is [string, string] => entry[1] !== undefined)
      .map(([name, value]) => [name[0]!.toUpperCase() + name.slice(1), value]),
  )
}

/** One entry of QuerySendDetails' `SmsSendDetailDTOs.SmsSendDetailDTO`, as both transports read it. */
export interface AliyunSendDetail {
  phoneNum?: string
  /** 1: waiting for the carrier's receipt; 2: failed; 3: delivered. */
  sendStatus?: number
  /** `DELIVERED`, or the carrier's or Aliyun's code of the failure. */
  errCode?: string
  outId?: string
  /** `yyyy-MM-dd HH:mm:ss`, China time. */
  sendDate?: string
  /** When the receipt came, `yyyy-MM-dd HH:mm:ss`, China time. */
  receiveDate?: string
}

/** Whatever Alibaba Cloud answered, success or not, in the one shape both transports produce. */
export interface AliyunAnswer {
  /** HTTP status. */
  status: number
  /** `OK`, or an error code such as `isv.BUSINESS_LIMIT_CONTROL`; absent when the body was not Aliyun's JSON. */
  code?: string
  message?: string
  requestId?: string
  bizId?: string
  /** `x-acs-retry-after`, milliseconds (the SDK reads it so too). */
  retryAfterMs?: number
  /** QuerySendDetails' entries; absent for the other actions. */
  details?: AliyunSendDetail[]
}

/**
 * One way of reaching Alibaba Cloud. `call` resolves with every answer the gateway gave, errors included, so
 * that one classification (`classify.ts`) serves both transports; it rejects only when there was no answer
 * it could read, with the network's own error, which the provider reads as every provider does.
 */
export interface AliyunTransport {
  readonly name: AliyunTransportName
  call(request: AliyunRequest, options: SendOptions): Promise<AliyunAnswer>
}

export interface AliyunTransportDeps {
  clock: Clock
  fetch: typeof fetch
}

/** Builds a transport once, at start-up. */
export type AliyunTransportFactory = (config: AliyunConfig, deps: AliyunTransportDeps) => AliyunTransport
