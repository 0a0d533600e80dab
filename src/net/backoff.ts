// Exponential back-off for redialing peers: each failure doubles the wait up to a cap, with
// jitter so that nodes which lost the same peer at the same moment do not redial in lockstep.

export interface BackoffOptions {
  initialMs: number
  maxMs: number
  /** Fraction of the delay added or removed at random (0.2 = ±20 %). */
  jitter?: number
}

export class Backoff {
  private readonly options: Required<BackoffOptions>
  private failures = 0

  constructor (options: BackoffOptions) {
    this.options = { jitter: 0.2, ...options }
  }

  /** The wait before the next attempt, given the failures so far. */
  nextDelayMs (random: () => number = Math.random): number {
    const { initialMs, maxMs, jitter } = this.options
    const base = Math.min(maxMs, initialMs * 2 ** Math.min(this.failures, 30))
    const spread = base * jitter * (random() * 2 - 1)
    return Math.max(0, Math.round(Math.min(maxMs, base + spread)))
  }

  failed (): void { this.failures++ }

  succeeded (): void { this.failures = 0 }

  get attempts (): number { return this.failures }
}
