// A bounded window of tasks in flight, for a loop that starts work as it reads its input (chunks of
// a put, chunks written by a get, files of a restore, access checks of a walk): the loop waits for
// room before reading more, so memory stays flat whatever the input's size. The first failure is
// kept (later ones add nothing) for the loop to throw where it decides to stop.

export interface WindowLimits {
  /** Tasks in flight at once. */
  tasks: number
  /** Bytes the tasks in flight may hold together (counted as each task is tracked), if bounded. */
  bytes?: number
}

export class TaskWindow {
  private readonly limits: WindowLimits
  private readonly running = new Set<Promise<void>>()
  private bytes = 0
  /** The first failure of a tracked task; undefined while none has failed. */
  failure: unknown

  constructor (limits: WindowLimits) {
    if (!Number.isInteger(limits.tasks) || limits.tasks < 1) throw new RangeError(`tasks must be a positive integer, got ${limits.tasks}`)
    this.limits = limits
  }

  get size (): number {
    return this.running.size
  }

  /** True once the tasks in flight, or the bytes they hold, reach their limit. */
  get full (): boolean {
    return this.running.size >= this.limits.tasks || (this.limits.bytes !== undefined && this.bytes >= this.limits.bytes)
  }

  /**
   * Tracks a started task holding `bytes` until it ends; `onDone` sees its value. A failure (of
   * the task or of `onDone`) is kept in `failure`, never thrown from here.
   */
  track<T> (task: Promise<T>, bytes = 0, onDone?: (value: T) => void): void {
    this.bytes += bytes
    const tracked: Promise<void> = task
      .then((value) => { onDone?.(value) })
      .catch((err: unknown) => { this.failure ??= err })
      .finally(() => { this.running.delete(tracked); this.bytes -= bytes })
    this.running.add(tracked)
  }

  /** Waits until there is room for one more task. */
  async room (): Promise<void> {
    while (this.full) await Promise.race(this.running)
  }

  /** Waits for every task in flight to end; never rejects (see `failure`). */
  async settled (): Promise<void> {
    await Promise.all(this.running)
  }

  /** Throws the first failure, if a task has failed. */
  throwIfFailed (): void {
    if (this.failure !== undefined) throw this.failure
  }
}
