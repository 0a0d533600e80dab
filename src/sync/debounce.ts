// When a folder sync stores: after a burst of changes has been quiet for `quietMs`, but at most
// `maxDelayMs` after the first change not stored yet, so a continuous stream of writes still gives
// a version every `maxDelayMs`. One run at a time: changes during a run wait for the next.

export interface Clock {
  now: () => number
  setTimeout: (fn: () => void, ms: number) => NodeJS.Timeout
  clearTimeout: (timer: NodeJS.Timeout) => void
}

const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (timer) => clearTimeout(timer)
}

export interface DebounceOptions {
  quietMs: number
  maxDelayMs: number
  /** What a burst leads to; awaited before the next run may start. Must not throw. */
  run: () => Promise<void>
  clock?: Clock
}

export class ChangeDebouncer {
  private readonly options: DebounceOptions
  private readonly clock: Clock
  private firstAt: number | undefined
  private lastAt: number | undefined
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private stopped = false

  constructor (options: DebounceOptions) {
    this.options = options
    this.clock = options.clock ?? SYSTEM_CLOCK
  }

  /** Something changed. */
  change (): void {
    const now = this.clock.now()
    this.firstAt ??= now
    this.lastAt = now
    this.arm()
  }

  /** Run as soon as possible, without waiting for quiet (a catch-up scan, a retry). */
  flush (): void {
    const now = this.clock.now()
    this.firstAt = now - this.options.maxDelayMs
    this.lastAt ??= now
    this.arm()
  }

  /** Whether a run is going on. */
  get busy (): boolean { return this.running !== undefined }

  /** No more runs; resolves when the current one (if any) has ended. */
  async stop (): Promise<void> {
    this.stopped = true
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer)
    this.timer = undefined
    await this.running
  }

  private arm (): void {
    if (this.stopped || this.running !== undefined || this.firstAt === undefined || this.lastAt === undefined) return
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer)
    const due = Math.min(this.lastAt + this.options.quietMs, this.firstAt + this.options.maxDelayMs)
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, due - this.clock.now()))
  }

  private fire (): void {
    this.timer = undefined
    if (this.stopped) return
    this.firstAt = undefined
    this.lastAt = undefined
    this.running = this.options.run().finally(() => {
      this.running = undefined
      this.arm() // changes seen during the run
    })
  }
}
