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
  /** Forgets every message (`DELETE /dev/inbox`, between end-to-end tests). */
  clear(): Promise<void>
}

export const INBOX_CAPACITY = 100

/** Keeps the last `capacity` messages of one process, in a ring so that adding never moves the others. */
export class MemoryInbox implements Inbox {
  #ring: InboxEntry[] = []
  #next = 0
  constructor(readonly capacity = INBOX_CAPACITY) {}

  async add(entry: InboxEntry) {
    this.#ring[this.#next] = entry
    this.#next = (this.#next + 1) % this.capacity
  }

  async clear() {
    this.#ring = []
    this.#next = 0
  }

  async list() {
    const oldestFirst = [...this.#ring.slice(this.#next), ...this.#ring.slice(0, this.#next)]
    return oldestFirst.reverse()
  }
}
