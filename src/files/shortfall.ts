// Why a put has fewer copies than it wanted: the holders that refused a copy (by the code they
// answered: DISK_FULL, STORAGE_FULL, BUSY, TIMEOUT…) and the copies no connected peer was left to
// take (NO_PEERS). replication/ reports it per blob; a put adds up its blobs' reports.

/** One blob's missing copies: each peer that refused it, and how many copies found no peer at all. */
export interface BlobShortfall {
  refused: Array<{ peer: string, code: string }>
  noPeers: number
}

/** A put's reasons, as the API reports them: holders per refusal code, and NO_PEERS copies. */
export interface Shortfall {
  reasons: Record<string, number>
}

export const NO_PEERS = 'NO_PEERS'

/** The reasons of every blob of one put that fell short: distinct holders per code, and the most copies one blob lacked for want of peers. */
export class ShortfallTally {
  private readonly refused = new Map<string, Set<string>>()
  private noPeers = 0

  add (shortfall: BlobShortfall | undefined): void {
    if (shortfall === undefined) return
    for (const { peer, code } of shortfall.refused) {
      let peers = this.refused.get(code)
      if (peers === undefined) this.refused.set(code, peers = new Set())
      peers.add(peer)
    }
    this.noPeers = Math.max(this.noPeers, shortfall.noPeers)
  }

  /** Every refusal seen (each holder once per code) and the most copies one blob found no peer for. */
  report (): BlobShortfall {
    return { refused: [...this.refused].flatMap(([code, peers]) => [...peers].map(peer => ({ peer, code }))), noPeers: this.noPeers }
  }

  /**
   * The reasons for a put `missing` copies short. A copy counted short without a recorded refusal
   * (e.g. a holder recorded earlier has since been forgotten) is put down to missing peers.
   */
  result (missing: number): Shortfall {
    const reasons: Record<string, number> = {}
    for (const [code, peers] of [...this.refused].sort(([a], [b]) => a.localeCompare(b))) reasons[code] = peers.size
    if (this.noPeers > 0 || this.refused.size === 0) reasons[NO_PEERS] = Math.max(this.noPeers, this.refused.size === 0 ? missing : 0)
    return { reasons }
  }
}
