// The bytes a node may hold in inbound frames, per peer and in all: a stream reserves a big frame's
// announced size before it buffers it, and gives it back when the stream ends, however it ends.
// So the memory that peers can pin in a node is bounded by this budget, not by their streams.

export interface ByteBudgetOptions {
  /** All peers together. */
  totalBytes: number
  /** One peer, over all its connections and streams. */
  perPeerBytes: number
}

/** A granted share of the budget; `release()` is idempotent. */
export interface ByteReservation {
  readonly bytes: number
  release: () => void
}

export class ByteBudget {
  readonly totalBytes: number
  readonly perPeerBytes: number
  private reserved = 0
  private readonly byPeer = new Map<string, number>()
  /** Reservations refused because the peer's share or the total was used up. */
  refusals = 0

  constructor (options: ByteBudgetOptions) {
    for (const [name, value] of Object.entries(options)) {
      if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`)
    }
    this.totalBytes = options.totalBytes
    this.perPeerBytes = options.perPeerBytes
  }

  /** Bytes reserved now, by all peers or by one. */
  reservedBytes (peer?: string): number {
    return peer === undefined ? this.reserved : this.byPeer.get(peer) ?? 0
  }

  /** Reserves `bytes` for `peer`, or returns undefined when that would pass its share or the total. */
  tryReserve (peer: string, bytes: number): ByteReservation | undefined {
    const mine = this.byPeer.get(peer) ?? 0
    if (mine + bytes > this.perPeerBytes || this.reserved + bytes > this.totalBytes) {
      this.refusals++
      return undefined
    }
    this.byPeer.set(peer, mine + bytes)
    this.reserved += bytes
    let released = false
    return {
      bytes,
      release: () => {
        if (released) return
        released = true
        this.reserved -= bytes
        const left = (this.byPeer.get(peer) ?? bytes) - bytes
        if (left <= 0) this.byPeer.delete(peer)
        else this.byPeer.set(peer, left)
      }
    }
  }
}
