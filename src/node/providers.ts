import type { ProviderConfig } from '../providers/registry.js'
import { PROVIDERS } from '../providers/registry.js'
import type { ProviderDefinition } from '../providers/types.js'
import { loadBundled } from './bundled.js'

/**
 * The provider definitions on Node: the shared list, with Alibaba Cloud given its official SDK transport when
 * a configured `aliyun` provider asks for it (`GOTRUE_SMS_ALIYUN_TRANSPORT=sdk`, the Node default). The SDK is
 * loaded only then: it takes about 0.6 s from node_modules (0.1 s from the build's bundle, half that with its code
 * cache: ./bundled.ts), and Workers must never see it.
 */
export const nodeProviderDefinitions = async (
  configs: readonly ProviderConfig[],
): Promise<readonly ProviderDefinition[]> => {
  const wantsSdk = configs.some(
    (config) => config.name === 'aliyun' && (config.settings as { transport?: string }).transport === 'sdk',
  )
  if (!wantsSdk) return PROVIDERS
  const [{ aliyunWith }, { createSdkTransport }] = await Promise.all([
    import('../providers/aliyun/index.js'),
    sdkTransport(),
  ])
  return PROVIDERS.map((definition) => (definition.name === 'aliyun' ? aliyunWith(createSdkTransport) : definition))
}

const sdkTransport = async () =>
  loadBundled<typeof import('../providers/aliyun/sdk-transport.js')>(
    new URL('../providers/aliyun/sdk-transport.cjs', import.meta.url),
  ) ?? (await import('../providers/aliyun/sdk-transport.js'))
