// Room for work taken from many places at once, by count and by bytes, granted in the order asked
// (a tree put's files: each is read and stored while later ones wait their turn, so memory stays
// flat and the listing comes out in walk order). One task always gets in, whatever its size:
// a file bigger than the byte bound still goes, alone.
import type { WindowLimits } from './window.ts'

export class Slots {
  private readonly limits: WindowLimits
  private active = 0
  private bytes = 0
  private readonly queue: Array<{ size: number, grant: () => void }> = []

  constructor (limits: WindowLimits) {
    if (!Number.isInteger(limits.tasks) || limits.tasks < 1) throw new RangeError(`tasks must be a positive integer, got ${limits.tasks}`)
    this.limits = limits
  }

  private fits (size: number): boolean {
    return this.active < this.limits.tasks && (this.active === 0 || this.limits.bytes === undefined || this.bytes + size <= this.limits.bytes)
  }

  /** Resolves once there is room for a task holding `size` bytes, after every earlier request. */
  async take (size: number): Promise<void> {
    if (this.queue.length === 0 && this.fits(size)) { this.active++; this.bytes += size; return }
    await new Promise<void>((resolve) => this.queue.push({ size, grant: resolve }))
  }

  /** A task that took `size` is done: its room goes to the next requests that fit, in order. */
  give (size: number): void {
    this.active--
    this.bytes -= size
    while (this.queue.length > 0 && this.fits(this.queue[0].size)) {
      const next = this.queue.shift()!
      this.active++
      this.bytes += next.size
      next.grant()
    }
  }
}
