/**
 * Node only: the official SDK's own ACS3 signer (`OpenApiUtil.getAuthorization` in @alicloud/openapi-core)
 * as an oracle for ours, on random parameters.
 */
import { OpenApiUtil } from '@alicloud/openapi-core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { signAcs3 } from '../../../src/providers/aliyun/sign.js'

const tricky = fc.constantFrom(
  ' ',
  '*',
  '+',
  '~',
  '%',
  '&',
  '=',
  '/',
  '?',
  '#',
  "'",
  '!',
  '(',
  ')',
  '阿',
  '里',
  '😀',
  'é',
  '\n',
)
const value = fc.oneof(fc.string({ unit: 'binary', maxLength: 24 }), fc.string({ unit: tricky, maxLength: 24 }))
const names = [
  'PhoneNumbers',
  'SignName',
  'TemplateCode',
  'TemplateParam',
  'OutId',
  'CountryCode',
  'PhoneNumber',
  'SendDate',
  'PageSize',
  'CurrentPage',
  'BizId',
]

describe('ACS3 signer against the SDK', () => {
  it('produces the same Authorization as OpenApiUtil.getAuthorization', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.constantFrom(...names), value),
        fc.string({ unit: tricky, minLength: 1, maxLength: 12 }),
        fc.option(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 40 }), { nil: undefined }),
        fc.constantFrom('dysmsapi.aliyuncs.com', '127.0.0.1:8080', 'dypnsapi.aliyuncs.com'),
        fc.constantFrom('SendSms', 'SendSmsVerifyCode', 'QuerySendDetails'),
        async (query, accessKeySecret, securityToken, host, action) => {
          const credentials = { accessKeyId: 'LTAIoracle', accessKeySecret, securityToken }
          const request = {
            host,
            action,
            version: '2017-05-25',
            query,
            date: '2025-06-30T23:59:59Z',
            nonce: 'ffeeddccbbaa99887766554433221100',
          }
          const ours = await signAcs3(request, credentials)
          const { authorization, ...headers } = ours.headers
          const sdk = OpenApiUtil.getAuthorization(
            // The SDK reads only these fields of its Request.
            { method: 'POST', pathname: '/', query, headers } as unknown as Parameters<
              typeof OpenApiUtil.getAuthorization
            >[0],
            'ACS3-HMAC-SHA256',
            headers['x-acs-content-sha256']!,
            credentials.accessKeyId,
            accessKeySecret,
          )
          expect(authorization).toBe(sdk)
        },
      ),
      { numRuns: 300 },
    )
  })
})
