/**
 * The AccessKeys the fake Alibaba Cloud endpoint knows. Plain data without Node imports, so tests running in
 * any runtime can use it.
 */
export const FAKE_ALIYUN = {
  accessKeyId: 'LTAI5tFakeSmsHookKey',
  accessKeySecret: 'fake-secret-for-the-local-endpoint-only',
  /** An STS key: only valid together with its token. */
  sts: {
    accessKeyId: 'STS.NUfakeSmsHookKey',
    accessKeySecret: 'fake-sts-secret-for-the-local-endpoint-only',
    securityToken: 'CAIS+fake/security=token~with*odd chars',
  },
  /**
   * Template codes the fake holds as approved for international messages; every other code is a mainland
   * template, as the template's own type decides at Aliyun how `PhoneNumbers` is read.
   */
  internationalTemplates: ['SMS_INTL_465000001', 'SMS_INTL_465000002'],
} as const
