// How much one sender may make this node take: a token bucket per sender (by its verified node ID,
// which only it can sign for), so a flood from one member is cut to a burst and a steady rate while
// everyone else's messages pass untouched.

export interface SenderRateOptions {
  /** Messages a sender may send at once after a quiet spell. */
  burst: number
  /** Messages per second a sender may keep up. */
  perSecond: number
}

export const DEFAULT_SENDER_RATE: SenderRateOptions = { burst: 100, perSecond: 20 }

/** Buckets kept at most; a full bucket carries no state, so those go first. */
const MAX_SENDERS = 4096

interface Bucket { tokens: number, at: number }

export class SenderRateLimiter {
  private readonly options: SenderRateOptions
  private readonly buckets = new Map<string, Bucket>()

  constructor (options: SenderRateOptions = DEFAULT_SENDER_RATE) {
    if (!Number.isInteger(options.burst) || options.burst < 1) throw new RangeError(`burst must be a positive integer, got ${options.burst}`)
    if (!(options.perSecond > 0)) throw new RangeError(`perSecond must be positive, got ${options.perSecond}`)
    this.options = options
  }

  /** Takes one token from `sender`'s bucket; false when it is empty (the message is dropped). */
  take (sender: string, now = Date.now()): boolean {
    const bucket = this.refill(sender, now)
    if (bucket.tokens < 1) return false
    bucket.tokens -= 1
    return true
  }

  private refill (sender: string, now: number): Bucket {
    const { burst, perSecond } = this.options
    let bucket = this.buckets.get(sender)
    if (bucket === undefined) {
      if (this.buckets.size >= MAX_SENDERS) this.forgetIdle(now)
      bucket = { tokens: burst, at: now }
      this.buckets.set(sender, bucket)
      return bucket
    }
    bucket.tokens = Math.min(burst, bucket.tokens + Math.max(0, now - bucket.at) * perSecond / 1000)
    bucket.at = now
    return bucket
  }

  /** Drops buckets that have refilled (forgetting them changes nothing), else the oldest half. */
  private forgetIdle (now: number): void {
    const { burst, perSecond } = this.options
    for (const [sender, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.at) * perSecond / 1000 >= burst) this.buckets.delete(sender)
    }
    if (this.buckets.size < MAX_SENDERS) return
    let drop = this.buckets.size / 2
    for (const sender of this.buckets.keys()) {
      if (drop-- <= 0) break
      this.buckets.delete(sender)
    }
  }
}
