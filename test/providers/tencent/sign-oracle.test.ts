/**
 * Node only: the official SDK as the oracle for the TC3 signer and for the fake endpoint. Its own helper
 * (`Sign.sign3` in tencentcloud-sdk-nodejs-common) must produce the Authorization ours does, byte for byte; and
 * its SMS client, signing by itself, must get past the fake's signature check.
 */
import fc from 'fast-check'
import { Agent } from 'node:http'
import { connect } from 'node:net'
import { sms } from 'tencentcloud-sdk-nodejs-sms'
import SignModule from 'tencentcloud-sdk-nodejs-common/tencentcloud/common/sign.js'
import { describe, expect, it } from 'vitest'
import { signTc3 } from '../../../src/providers/tencent/sign.js'
import { FAKE_TENCENT } from '../../fakes/vendor-accounts.js'
import { callsFor, fakeUrl } from '../fake.js'
import { uniqueNumber } from '../support.js'

/** The SDK is CommonJS with `exports.default = Sign`: Node's loader hands over `exports`, vitest may unwrap it. */
type SignClass = typeof SignModule.default
const Sign: SignClass = (SignModule as { default?: SignClass }).default ?? (SignModule as unknown as SignClass)

const CONTENT_TYPE = 'application/json; charset=utf-8'

const sdkAuthorization = (host: string, payload: unknown, timestamp: number, secretId: string, secretKey: string) =>
  Sign.sign3({
    method: 'POST',
    url: `https://${host}/`,
    payload,
    timestamp,
    service: 'sms',
    secretId,
    secretKey,
    multipart: false,
    boundary: '',
    headers: { 'Content-Type': CONTENT_TYPE },
  })

describe('TC3 signer against the SDK', () => {
  it('signs a SendSms request exactly as Sign.sign3 does', async () => {
    const request = {
      PhoneNumberSet: ['+8613800138000'],
      SmsSdkAppId: '1400006666',
      SignName: '腾讯云',
      TemplateId: '1110',
      TemplateParamSet: ['482913', '5'],
      SessionContext: '9f1c2a57-5a4b-4c1e-9d1e-0c7a1e2b3c4d',
    }
    const timestamp = 1_787_223_292
    const ours = await signTc3(
      {
        service: 'sms',
        host: 'sms.tencentcloudapi.com',
        contentType: CONTENT_TYPE,
        body: JSON.stringify(request),
        timestamp,
      },
      { secretId: 'AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE', secretKey: 'Gu5t9xGARNpq86cd98joQYCN3EXAMPLE' },
    )
    // The SDK serialises the request itself: the same bytes as JSON.stringify, or the hashes would differ.
    expect(ours.authorization).toBe(
      sdkAuthorization(
        'sms.tencentcloudapi.com',
        request,
        timestamp,
        'AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE',
        'Gu5t9xGARNpq86cd98joQYCN3EXAMPLE',
      ),
    )
    expect(ours.authorization).toMatch(
      /^TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE\/2026-08-20\/sms\/tc3_request, SignedHeaders=content-type;host, Signature=[0-9a-f]{64}$/,
    )
  })

  it('agrees with Sign.sign3 on any body, key, host and time', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
        fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 40 }),
        fc.constantFrom('sms.tencentcloudapi.com', 'sms.intl.tencentcloudapi.com', '127.0.0.1'),
        // 2001 to 2100: dates on both sides of midnight UTC.
        fc.integer({ min: 1_000_000_000, max: 4_102_444_800 }),
        async (body, secretKey, secretId, host, timestamp) => {
          const ours = await signTc3(
            { service: 'sms', host, contentType: CONTENT_TYPE, body, timestamp },
            { secretId, secretKey },
          )
          expect(ours.authorization).toBe(
            sdkAuthorization(host, Buffer.from(body, 'utf8'), timestamp, secretId, secretKey),
          )
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('the fake Tencent Cloud endpoint against the SDK client', () => {
  it('accepts a SendSms the SDK signed by itself, and returns its serial number', async () => {
    const to = uniqueNumber().e164
    // The SDK takes its service name from the endpoint's first label, so it must keep Tencent's host name:
    // an agent takes the connection to the fake instead.
    const fake = new URL(fakeUrl('tencent'))
    const agent = new Agent()
    agent.createConnection = () => connect(Number(fake.port), fake.hostname)
    const client = new sms.v20210111.Client({
      credential: { secretId: FAKE_TENCENT.secretId, secretKey: FAKE_TENCENT.secretKey },
      region: 'ap-guangzhou',
      profile: { httpProfile: { protocol: 'http://', agent } },
    })
    const answer = await client.SendSms({
      PhoneNumberSet: [`+${to}`],
      SmsSdkAppId: FAKE_TENCENT.sdkAppId,
      SignName: FAKE_TENCENT.signName,
      TemplateId: '2220',
      TemplateParamSet: ['482913', '5'],
      SessionContext: 'sdk-oracle',
    })
    expect(answer.SendStatusSet?.[0]).toMatchObject({ Code: 'Ok', PhoneNumber: `+${to}` })
    expect(await callsFor('tencent', to)).toMatchObject([{ accepted: true }])
  })
})
