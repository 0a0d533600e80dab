// Per-peer delivery slots: each peer gets a few concurrent sends and a bounded wait list, and every
// send has a deadline. A peer that let a send time out is marked stalled for as long again: sends
// to it fail at once meanwhile (the outbox retries later) instead of each waiting out its own
// deadline. Either way a stalled peer never holds up sends to the others.

export interface DeliveryQueueOptions {
  /** Sends in flight to one peer at once. */
  concurrencyPerPeer: number
  /** Sends waiting for a slot, per peer; past this a send fails at once. */
  maxWaitingPerPeer: number
  /** Deadline of one send, from when it gets its slot. */
  timeoutMs: number
}

interface PeerSlots { active: number, waiting: Array<() => void> }

const MAX_STALLED_PEERS = 1024

export type DeliveryTask = (signal: AbortSignal) => Promise<boolean>

export class DeliveryQueues {
  private readonly options: DeliveryQueueOptions
  private readonly peers = new Map<string, PeerSlots>()
  /** Peer → until when sends to it fail at once. */
  private readonly stalledUntil = new Map<string, number>()
  private readonly abort = new AbortController()
  /** Sends refused because the peer's wait list was full. */
  overflows = 0
  /** Sends that timed out. */
  timeouts = 0

  constructor (options: DeliveryQueueOptions) {
    this.options = options
  }

  /** Runs `task` for `peer` in one of its slots; false if it failed, timed out or found no room. */
  async submit (peer: string, task: DeliveryTask): Promise<boolean> {
    if (this.abort.signal.aborted) return false
    let slots = this.peers.get(peer)
    if (slots == null) {
      slots = { active: 0, waiting: [] }
      this.peers.set(peer, slots)
    }
    if (slots.active >= this.options.concurrencyPerPeer) {
      if (slots.waiting.length >= this.options.maxWaitingPerPeer) {
        this.overflows++
        return false
      }
      await new Promise<void>(resolve => slots.waiting.push(resolve))
      if (this.abort.signal.aborted) return false
    }
    slots.active++
    const deadline = AbortSignal.timeout(this.options.timeoutMs)
    try {
      if (this.isStalled(peer)) return false
      return await task(AbortSignal.any([deadline, this.abort.signal]))
    } catch {
      return false
    } finally {
      if (deadline.aborted) {
        this.timeouts++
        this.markStalled(peer)
      }
      slots.active--
      const next = slots.waiting.shift()
      if (next != null) next()
      else if (slots.active === 0) this.peers.delete(peer)
    }
  }

  private isStalled (peer: string): boolean {
    const until = this.stalledUntil.get(peer)
    if (until == null) return false
    if (Date.now() < until) return true
    this.stalledUntil.delete(peer)
    return false
  }

  private markStalled (peer: string): void {
    if (this.stalledUntil.size >= MAX_STALLED_PEERS) {
      const now = Date.now()
      for (const [other, until] of this.stalledUntil) if (until <= now) this.stalledUntil.delete(other)
    }
    this.stalledUntil.set(peer, Date.now() + this.options.timeoutMs)
  }

  /** Fails everything waiting or in flight. */
  stop (): void {
    this.abort.abort()
    for (const slots of this.peers.values()) {
      for (const wake of slots.waiting.splice(0)) wake()
    }
  }
}
