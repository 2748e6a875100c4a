/** The bindings `wrangler.toml` gives the Worker, as the tests see them through `cloudflare:workers`. */
import type { CounterObject } from '../../src/worker/counter-object.js'
import type { DeliveryObject } from '../../src/worker/delivery-object.js'
import type { InboxObject } from '../../src/worker/inbox-object.js'
import type { IdempotencyObject } from '../../src/worker/store-object.js'

declare global {
  namespace Cloudflare {
    interface Env {
      IDEMPOTENCY: DurableObjectNamespace<IdempotencyObject>
      INBOX: DurableObjectNamespace<InboxObject>
      COUNTERS: DurableObjectNamespace<CounterObject>
      DELIVERIES: DurableObjectNamespace<DeliveryObject>
    }
    interface GlobalProps {
      mainModule: typeof import('../../src/worker/index.js')
    }
  }
}
