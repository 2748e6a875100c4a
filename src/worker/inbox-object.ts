import { DurableObject } from 'cloudflare:workers'
import { INBOX_CAPACITY, type Inbox, type InboxEntry } from '../dev/inbox.js'

const ENTRIES = 'entries'

/**
 * The console provider's inbox on Workers: one object for the whole Worker, so that a code sent from one isolate
 * shows in `/dev/inbox` served by another. Kept in storage, as an object may be evicted between two page loads.
 * A single object is enough here: the console provider is for trying things out, not for traffic.
 */
export class InboxObject extends DurableObject<unknown> {
  #entries: InboxEntry[] = []

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env)
    void ctx.blockConcurrencyWhile(async () => {
      this.#entries = (await ctx.storage.get<InboxEntry[]>(ENTRIES)) ?? []
    })
  }

  async add(entry: InboxEntry): Promise<void> {
    this.#entries = [entry, ...this.#entries].slice(0, INBOX_CAPACITY)
    await this.ctx.storage.put(ENTRIES, this.#entries)
  }

  list(): InboxEntry[] {
    return this.#entries
  }

  async clear(): Promise<void> {
    this.#entries = []
    await this.ctx.storage.deleteAll()
  }
}

/** The `Inbox` the Worker gives the console provider. A stub is made per call: it belongs to one request. */
export class DurableObjectInbox implements Inbox {
  constructor(readonly namespace: DurableObjectNamespace<InboxObject>) {}

  async add(entry: InboxEntry): Promise<void> {
    await this.#object().add(entry)
  }

  async list(): Promise<InboxEntry[]> {
    return this.#object().list()
  }

  async clear(): Promise<void> {
    await this.#object().clear()
  }

  #object() {
    return this.namespace.getByName('inbox')
  }
}
