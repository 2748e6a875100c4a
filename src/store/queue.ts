/**
 * A first-in, first-out queue for the in-memory stores' oldest-first eviction and expiry. Taking from the front
 * moves a head index instead of shifting the array, and the consumed front is dropped now and then, so both
 * ends cost the same at any size.
 */
export class Queue<T> {
  #items: T[] = []
  #head = 0

  get length(): number {
    return this.#items.length - this.#head
  }

  push(item: T): void {
    this.#items.push(item)
  }

  /** The oldest item, left in place. */
  peek(): T | undefined {
    return this.#items[this.#head]
  }

  /** Takes the oldest item out. */
  shift(): T | undefined {
    if (this.#head === this.#items.length) return undefined
    const item = this.#items[this.#head++]
    // Compact now and then rather than shift() each time, which moves the whole array.
    if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    return item
  }
}
