/** The bindings `wrangler.toml` gives the Worker, as the tests see them through `cloudflare:workers`. */
import type { InboxObject } from '../../src/dev/durable-inbox.js'
import type { IdempotencyObject } from '../../src/store/durable-object.js'
import type { CounterObject } from '../../src/worker/counter-object.js'

declare global {
  namespace Cloudflare {
    interface Env {
      IDEMPOTENCY: DurableObjectNamespace<IdempotencyObject>
      INBOX: DurableObjectNamespace<InboxObject>
      COUNTERS: DurableObjectNamespace<CounterObject>
    }
    interface GlobalProps {
      mainModule: typeof import('../../src/worker.js')
    }
  }
}
