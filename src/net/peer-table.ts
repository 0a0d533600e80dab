// What we know about each connected peer: since when it is connected, its listen addresses (from
// identify), its latency (from ping). Synchronous reads for status and peer exchange.

import type { Multiaddr } from '@multiformats/multiaddr'
import { isDialableTcp, withPeerId } from './addresses.ts'

export interface PeerInfo {
  nodeId: string
  addresses: string[]
  latencyMs: number | null
  /** When the current connection was opened (ISO 8601). */
  since: string
  /** 'relayed' while we reach the peer only through a circuit relay; 'direct' otherwise. */
  path?: PeerPath
}

export type PeerPath = 'direct' | 'relayed'

interface PeerEntry {
  since: Date
  /** Where it listens (identify), with /p2p/; empty until identify ran. */
  listenAddrs: Multiaddr[]
  /** Where its connection comes from, when we know nothing better. */
  remoteAddr: Multiaddr | undefined
  latencyMs: number | null
  pingFailures: number
}

const MAX_LISTEN_ADDRS = 16

export class PeerTable {
  private readonly entries = new Map<string, PeerEntry>()

  add (nodeId: string, remoteAddr: Multiaddr | undefined): void {
    if (this.entries.has(nodeId)) return
    this.entries.set(nodeId, { since: new Date(), listenAddrs: [], remoteAddr, latencyMs: null, pingFailures: 0 })
  }

  remove (nodeId: string): void { this.entries.delete(nodeId) }

  has (nodeId: string): boolean { return this.entries.has(nodeId) }

  ids (): string[] { return [...this.entries.keys()] }

  get size (): number { return this.entries.size }

  setListenAddrs (nodeId: string, addrs: Multiaddr[]): void {
    const entry = this.entries.get(nodeId)
    if (entry == null) return
    entry.listenAddrs = addrs.filter(isDialableTcp).slice(0, MAX_LISTEN_ADDRS).map(ma => withPeerId(ma, nodeId))
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
      since: entry.since.toISOString()
    }))
  }
}
