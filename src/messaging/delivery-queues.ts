// Per-peer delivery slots: each peer gets a few concurrent sends and a bounded wait list, and every
// send has a deadline. A peer that let a send time out is marked stalled for as long again: sends
// to it fail at once meanwhile (the outbox retries later) instead of each waiting out its own
// deadline. Either way a stalled peer never holds up sends to the others.
// The wait list of a peer is split in lanes (for flooded envelopes: one per original sender),
// served in turn; when it is full, the longest lane gives way, so one sender's flood can delay or
// drop its own envelopes but never starve another sender's.

export interface DeliveryQueueOptions {
  /** Sends in flight to one peer at once. */
  concurrencyPerPeer: number
  /** Sends waiting for a slot, per peer; past this a send fails at once. */
  maxWaitingPerPeer: number
  /** Deadline of one send, from when it gets its slot. */
  timeoutMs: number
}

/** A waiting send: granted a slot (true) or dropped to make room for a shorter lane (false). */
type Waiter = (granted: boolean) => void

interface PeerSlots { active: number, waiting: number, lanes: Map<string, Waiter[]> }

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

  /** Runs `task` for `peer` in one of its slots; false if it failed, timed out or found no room.
   * `lane` names whose send it is, for fairness among them (default: all in one lane). */
  async submit (peer: string, task: DeliveryTask, lane = ''): Promise<boolean> {
    if (this.abort.signal.aborted) return false
    let slots = this.peers.get(peer)
    if (slots == null) {
      slots = { active: 0, waiting: 0, lanes: new Map() }
      this.peers.set(peer, slots)
    }
    if (slots.active >= this.options.concurrencyPerPeer) {
      if (slots.waiting >= this.options.maxWaitingPerPeer && !this.makeRoom(slots, lane)) {
        this.overflows++
        return false
      }
      const queue = slots.lanes.get(lane) ?? []
      slots.lanes.set(lane, queue)
      slots.waiting++
      const granted = await new Promise<boolean>(resolve => queue.push(resolve))
      if (!granted || this.abort.signal.aborted) return false
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
      const next = this.nextWaiter(slots)
      if (next != null) next(true)
      else if (slots.active === 0) this.peers.delete(peer)
    }
  }

  /** The first waiter of the lane whose turn it is; that lane then goes to the back. */
  private nextWaiter (slots: PeerSlots): Waiter | undefined {
    for (const [lane, queue] of slots.lanes) {
      slots.lanes.delete(lane)
      const next = queue.shift()
      if (queue.length > 0) slots.lanes.set(lane, queue)
      if (next != null) {
        slots.waiting--
        return next
      }
    }
    return undefined
  }

  /** A full wait list: drops the newest waiter of the longest lane, if that lane is longer than
   * `lane` would be with this send; false when `lane` is itself the longest (this send overflows). */
  private makeRoom (slots: PeerSlots, lane: string): boolean {
    let longest: Waiter[] | undefined
    for (const queue of slots.lanes.values()) if (longest == null || queue.length > longest.length) longest = queue
    if (longest == null || longest.length <= (slots.lanes.get(lane)?.length ?? 0) + 1) return false
    const dropped = longest.pop()
    slots.waiting--
    this.overflows++
    dropped?.(false)
    return true
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
      for (const queue of slots.lanes.values()) for (const wake of queue.splice(0)) wake(false)
      slots.lanes.clear()
      slots.waiting = 0
    }
  }
}
