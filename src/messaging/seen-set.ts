// The IDs of flooded envelopes seen recently, so each is delivered and forwarded once. Bounded in
// time (envelopes older than that are refused as stale anyway) and in size: only a burst of more
// than `maxEntries` envelopes within the time bound can make it forget an ID early.

export class SeenSet {
  private readonly seen = new Map<string, number>()
  private readonly maxEntries: number
  private readonly ttlMs: number

  constructor (maxEntries: number, ttlMs: number) {
    this.maxEntries = maxEntries
    this.ttlMs = ttlMs
  }

  has (id: string, now = Date.now()): boolean {
    const expiresAt = this.seen.get(id)
    return expiresAt != null && expiresAt > now
  }

  /** Records `id`; false if it was already seen. */
  add (id: string, now = Date.now()): boolean {
    const expiresAt = this.seen.get(id)
    if (expiresAt != null && expiresAt > now) return false
    this.seen.delete(id)
    while (this.seen.size >= this.maxEntries) {
      const oldest = this.seen.keys().next().value
      if (oldest == null) break
      this.seen.delete(oldest)
    }
    this.seen.set(id, now + this.ttlMs)
    return true
  }

  get size (): number { return this.seen.size }
}
