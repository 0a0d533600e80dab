// What we know about each connected peer: since when it is connected, its listen addresses (from
// identify), its latency (from ping). Synchronous reads for status and peer exchange.

import type { Multiaddr } from '@multiformats/multiaddr'
import { isCircuit, isDialableTcp, withPeerId } from './addresses.ts'

export interface PeerInfo {
  nodeId: string
  addresses: string[]
  latencyMs: number | null
  /** When the current connection was opened (ISO 8601). */
  since: string
  /** 'relayed' while we reach the peer only through a circuit relay; 'direct' otherwise. */
  path?: PeerPath
  /** How others reach the peer, from the addresses it gives out (identify): 'relayed' when it
   * listens through a relay (behind NAT), else 'public'. Absent until identify ran. */
  reachability?: PeerReachability
  /** Our direct connection to it replaced a relayed one (hole punching, dcutr). */
  holePunched?: boolean
}

export type PeerPath = 'direct' | 'relayed'
export type PeerReachability = 'public' | 'relayed'

interface PeerEntry {
  since: Date
  /** Where it listens (identify), with /p2p/; empty until identify ran. */
  listenAddrs: Multiaddr[]
  /** Where its connection comes from, when we know nothing better. */
  remoteAddr: Multiaddr | undefined
  latencyMs: number | null
  pingFailures: number
  /** From identify: undefined until it ran. */
  reachability: PeerReachability | undefined
  holePunched: boolean
}

const MAX_LISTEN_ADDRS = 16

export class PeerTable {
  private readonly entries = new Map<string, PeerEntry>()

  add (nodeId: string, remoteAddr: Multiaddr | undefined): void {
    if (this.entries.has(nodeId)) return
    this.entries.set(nodeId, { since: new Date(), listenAddrs: [], remoteAddr, latencyMs: null, pingFailures: 0, reachability: undefined, holePunched: false })
  }

  remove (nodeId: string): void { this.entries.delete(nodeId) }

  has (nodeId: string): boolean { return this.entries.has(nodeId) }

  ids (): string[] { return [...this.entries.keys()] }

  get size (): number { return this.entries.size }

  setListenAddrs (nodeId: string, addrs: Multiaddr[]): void {
    const entry = this.entries.get(nodeId)
    if (entry == null) return
    entry.listenAddrs = addrs.filter(isDialableTcp).slice(0, MAX_LISTEN_ADDRS).map(ma => withPeerId(ma, nodeId))
    entry.reachability = addrs.some(isCircuit) ? 'relayed' : 'public'
  }

  /** A direct connection to the peer opened while we reached it through a relay. */
  markHolePunched (nodeId: string): void {
    const entry = this.entries.get(nodeId)
    if (entry != null) entry.holePunched = true
  }

  /** The peer's dialable listen addresses, with /p2p/. */
  listenAddrs (nodeId: string): Multiaddr[] {
    return this.entries.get(nodeId)?.listenAddrs ?? []
  }

  remoteAddr (nodeId: string): Multiaddr | undefined {
    return this.entries.get(nodeId)?.remoteAddr
  }

  /** Records a ping; returns the number of consecutive failures so far. */
  recordPing (nodeId: string, latencyMs: number | null): number {
    const entry = this.entries.get(nodeId)
    if (entry == null) return 0
    if (latencyMs == null) return ++entry.pingFailures
    entry.latencyMs = latencyMs
    entry.pingFailures = 0
    return 0
  }

  list (): PeerInfo[] {
    return [...this.entries].map(([nodeId, entry]) => ({
      nodeId,
      addresses: (entry.listenAddrs.length > 0 ? entry.listenAddrs : entry.remoteAddr != null ? [withPeerId(entry.remoteAddr, nodeId)] : []).map(String),
      latencyMs: entry.latencyMs,
      since: entry.since.toISOString(),
      ...(entry.reachability === undefined ? {} : { reachability: entry.reachability }),
      ...(entry.holePunched ? { holePunched: true } : {})
    }))
  }
}
