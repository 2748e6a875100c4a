/**
 * The accounts the fake vendor endpoints know (test/fakes/*-server.ts). Plain data without Node imports, so
 * tests in any runtime can use it.
 */
export const FAKE_TWILIO = {
  accountSid: 'AC0123456789abcdef0123456789abcdef',
  authToken: 'fake-twilio-auth-token-for-the-local-endpoint',
  from: '+15005550006',
  messagingServiceSid: 'MG0123456789abcdef0123456789abcdef',
} as const

export const FAKE_VONAGE = { apiKey: 'a1b2c3d4', apiSecret: 'fakeVonageSecret1', from: 'AcmeApp' } as const

export const FAKE_MESSAGEBIRD = { accessKey: 'live_FakeMessageBirdKeyForLocalUse', originator: 'AcmeApp' } as const

export const FAKE_TEXTLOCAL = { apiKey: 'fakeTextlocalApiKey+/=for=local', sender: 'ACMEAP' } as const

export const FAKE_TENCENT = {
  secretId: 'AKIDfakeSmsHookSecretIdForLocalUse',
  secretKey: 'fakeSmsHookSecretKeyForLocalUse',
  sdkAppId: '1400006666',
  signName: '腾讯云',
  /** Approved templates and how many parameters each takes. */
  templates: { '1110': 1, '2220': 2, '3330': 1 } as Record<string, number>,
} as const
