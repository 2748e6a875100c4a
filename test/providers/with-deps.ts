/** Sends through a provider built with more of `ProviderDeps` than the contract's `providerFor` gives it. */
import { systemClock } from '../../src/clock.js'
import type { Env } from '../../src/config/env.js'
import { silentLogger } from '../../src/log.js'
import type { ProviderDefinition, ProviderDeps, SendResult, SmsMessage } from '../../src/providers/types.js'
import { boundFetch } from './support.js'

export const sendWithDeps = (
  definition: ProviderDefinition,
  env: Env,
  message: SmsMessage,
  deps: Partial<ProviderDeps>,
  budgetMs = 3000,
): Promise<SendResult> =>
  definition
    .create(definition.parse(env), { clock: systemClock, fetch: boundFetch, logger: silentLogger, ...deps })
    .send(message, { signal: AbortSignal.timeout(budgetMs), deadline: Date.now() + budgetMs })
