/** A message as the development inbox shows it (`GET /dev/inbox.json`). */
export interface InboxEntry {
  /** The hook's idempotency key. */
  id: string
  to: string
  otp: string
  text: string
  sms_type: string
  /** ISO 8601. */
  at: string
}

/** Where the console provider keeps recent messages. Memory on Node; a Durable Object on Workers. */
export interface Inbox {
  add(entry: InboxEntry): Promise<void>
  /** Newest first. */
  list(): Promise<InboxEntry[]>
}

export const INBOX_CAPACITY = 100

/** Keeps the last `capacity` messages of one process. */
export class MemoryInbox implements Inbox {
  readonly #entries: InboxEntry[] = []
  constructor(readonly capacity = INBOX_CAPACITY) {}

  async add(entry: InboxEntry) {
    this.#entries.unshift(entry)
    if (this.#entries.length > this.capacity) this.#entries.length = this.capacity
  }

  async list() {
    return [...this.#entries]
  }
}
