import { describe, expect, it } from 'vitest'
import { acs3Date, canonicalQuery, percentEncode, signAcs3 } from '../../../src/providers/aliyun/sign.js'

/** Known answers: Alibaba Cloud's documented example and an SDK-checked vector. */
describe('ACS3-HMAC-SHA256 signer', () => {
  it('matches the SendSms vector', async () => {
    const signed = await signAcs3(
      {
        host: 'dysmsapi.aliyuncs.com',
        action: 'SendSms',
        version: '2017-05-25',
        date: '2025-01-01T00:00:00Z',
        nonce: '0123456789abcdef0123456789abcdef',
        query: {
          PhoneNumbers: '13800138000',
          SignName: '阿里云短信测试',
          TemplateCode: 'SMS_154950909',
          TemplateParam: '{"code":"1234"}',
        },
      },
      { accessKeyId: 'test-id', accessKeySecret: 'test-secret' },
    )
    expect(signed.canonicalRequestHash).toBe('11eaa51d77f07d1e26ca639c4305e76f1e6d94bb7bc6c2364c71d5949194d836')
    expect(signed.signature).toBe('7a3c9d620068530d876f65119f3d84126324259a1ff352a4c2835f8a95c2cb82')
    expect(signed.headers.authorization).toBe(
      'ACS3-HMAC-SHA256 Credential=test-id,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;' +
        'x-acs-signature-nonce;x-acs-version,Signature=7a3c9d620068530d876f65119f3d84126324259a1ff352a4c2835f8a95c2cb82',
    )
  })

  it("matches Alibaba Cloud's own documentation vector", async () => {
    const signed = await signAcs3(
      {
        host: 'ecs.cn-shanghai.aliyuncs.com',
        action: 'RunInstances',
        version: '2014-05-26',
        date: '2023-10-26T10:22:32Z',
        nonce: '3156853299f313e23d1673dc12e1703d',
        query: { ImageId: 'win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd', RegionId: 'cn-shanghai' },
      },
      { accessKeyId: 'YourAccessKeyId', accessKeySecret: 'YourAccessKeySecret' },
    )
    expect(signed.signature).toBe('06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0')
  })

  it('signs the STS token as x-acs-security-token', async () => {
    const signed = await signAcs3(
      { host: 'h', action: 'SendSms', version: '2017-05-25', date: '2025-01-01T00:00:00Z', nonce: 'n', query: {} },
      { accessKeyId: 'id', accessKeySecret: 's', securityToken: ' token ' },
    )
    expect(signed.headers['x-acs-security-token']).toBe(' token ')
    expect(signed.canonicalRequest).toContain('x-acs-security-token:token\n')
    expect(signed.headers.authorization).toContain(';x-acs-security-token;x-acs-signature-nonce;')
  })

  it('encodes as RFC 3986: space %20, * %2A, + %2B, ~ kept, UTF-8 for the rest', () => {
    expect(percentEncode("a b*c+d~e!'()")).toBe('a%20b%2Ac%2Bd~e%21%27%28%29')
    expect(percentEncode('阿')).toBe('%E9%98%BF')
    expect(canonicalQuery({ b: '2', a: '1 1', B: '0' })).toBe('B=0&a=1%201&b=2')
  })

  it('dates to the second in UTC', () => {
    expect(acs3Date(Date.UTC(2025, 0, 1, 8, 9, 10, 987))).toBe('2025-01-01T08:09:10Z')
  })
})
