// A counting semaphore: at most `limit` tasks run at once, the rest wait in arrival order. Used
// where callers push work at a shared resource (a peer's streams, replication transfers, audits).

export class Limiter {
  private readonly limit: number
  private running = 0
  private readonly waiting: Array<() => void> = []

  constructor (limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`)
    this.limit = limit
  }

  /** True when nothing runs or waits: the limiter can be dropped. */
  get idle (): boolean {
    return this.running === 0
  }

  async run<T> (task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal)
    try {
      return await task()
    } finally {
      this.release()
    }
  }

  private async acquire (signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted()
    if (this.running < this.limit) {
      this.running++
      return
    }
    await new Promise<void>((resolve, reject) => {
      const grant = (): void => { signal?.removeEventListener('abort', onAbort); resolve() }
      const onAbort = (): void => {
        const at = this.waiting.indexOf(grant)
        if (at !== -1) this.waiting.splice(at, 1)
        reject(signal?.reason)
      }
      this.waiting.push(grant)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  private release (): void {
    // The slot passes straight to the next waiter, so `running` stays counted for it.
    const next = this.waiting.shift()
    if (next !== undefined) next()
    else this.running--
  }
}
