/** The bindings `wrangler.toml` gives the Worker, as the tests see them through `cloudflare:workers`. */
import type { InboxObject } from '../../src/worker/inbox-object.js'
import type { IdempotencyObject } from '../../src/worker/store-object.js'

declare global {
  namespace Cloudflare {
    interface Env {
      IDEMPOTENCY: DurableObjectNamespace<IdempotencyObject>
      INBOX: DurableObjectNamespace<InboxObject>
    }
    interface GlobalProps {
      mainModule: typeof import('../../src/worker/index.js')
    }
  }
}
