// Keeps a node with the DHT at its connection bound. libp2p's own pruner never closes a connection
// that carries a stream other than identify/autonat/dcutr, and gossipsub keeps a long-lived stream
// on every connection: with gossipsub on, nothing would ever be pruned and a node would end up
// connected to everyone who ever dialled it. This trims the excess, least valuable first, and
// leaves alone connections doing real work (a block transfer, a message) and kept-alive ones (the
// relay we hold a reservation on).
//
// Why the bound did not hold before (issue 16; 14 nodes at a bound of 5 ended at 24-26 connections
// each, two to many a peer):
// - kad-dht tags the 20 peers nearest to us `keep-alive`, and libp2p's reconnect queue redials a
//   keep-alive peer the moment it disconnects: every connection the trimmer closed to one of them
//   came straight back. The tagger is resized here to a third of the bound.
// - When both ends of a trimmed connection redial each other at once (each finds the other through
//   the DHT), two connections open, one in each direction; libp2p keeps both. Here the connection
//   dialled by the peer with the higher ID is closed, once idle: both ends pick the same one.

import type { Connection } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { NetworkLibp2p } from './libp2p-node.ts'
import { isCircuit } from './addresses.ts'

/** Streams that are background chatter: a connection with only these may be closed. */
const IDLE_PROTOCOLS = [/^\/meshsub\//, /^\/floodsub\//, /\/kad\//, /^\/ipfs\/id\//, /^\/ipfs\/ping\//, /^\/libp2p\/autonat\//, /^\/libp2p\/dcutr/]

export interface ConnectionTrimmerOptions {
  libp2p: NetworkLibp2p
  log: Logger
  maxConnections: number
  /** How often the bound is checked besides on each new connection. */
  intervalMs?: number
  /** A connection this young is left alone: it was just opened for a reason (a fetch, a lookup). */
  graceMs?: number
}

/** kad-dht keeps its nearest peers connected (keep-alive): at most this share of the bound. */
export function dhtKeepAlivePeers (maxConnections: number): number {
  return Math.min(20, Math.floor(maxConnections / 3))
}

/** What the trimmer reads of gossipsub (not in its typed interface: read defensively). */
interface GossipInternals {
  onPeerConnected?: (peer: unknown, connection: Connection) => void
  streamsOutbound?: Map<string, { rawStream: { status: string } }>
}

export class ConnectionTrimmer {
  private readonly options: ConnectionTrimmerOptions
  private timer: NodeJS.Timeout | undefined
  private trimming = false
  private pending = false
  closed = 0
  /** Second connections to a peer closed (simultaneous dials). */
  deduplicated = 0

  constructor (options: ConnectionTrimmerOptions) {
    this.options = options
  }

  start (): void {
    this.options.libp2p.addEventListener('connection:open', this.onOpen)
    this.options.libp2p.addEventListener('connection:close', this.onClose)
    this.timer = setInterval(() => { void this.trim() }, this.options.intervalMs ?? 5_000)
    this.timer.unref()
    void resizeDhtKeepAlive(this.options.libp2p, dhtKeepAlivePeers(this.options.maxConnections))
      .catch((err: unknown) => this.options.log.warn({ err: (err as Error).message }, 'could not bound the DHT\'s kept-alive peers'))
  }

  stop (): void {
    this.options.libp2p.removeEventListener('connection:open', this.onOpen)
    this.options.libp2p.removeEventListener('connection:close', this.onClose)
    clearInterval(this.timer)
    this.timer = undefined
  }

  private readonly onOpen = (): void => {
    // After the burst of a join: let identify and the DHT use the new connection first.
    if (this.pending) return
    this.pending = true
    setTimeout(() => { this.pending = false; void this.trim() }, 2_000).unref()
  }

  /** One of two connections to a peer closed: gossipsub's outbound stream to that peer may have
   * been on it, and gossipsub opens one only when a peer connects; ask it again on the other,
   * once its stream table has let go of the closed stream (checked for up to 10 s). */
  private readonly onClose = (evt: CustomEvent<Connection>): void => {
    const peer = evt.detail.remotePeer
    const pubsub = this.options.libp2p.services.pubsub as unknown as GossipInternals | undefined
    if (pubsub?.onPeerConnected == null || pubsub.streamsOutbound == null || this.timer == null) return
    let tries = 0
    const check = (): void => {
      if (this.timer == null || tries++ >= 40) return
      const other = this.options.libp2p.getConnections(peer).find(c => c.status === 'open')
      if (other == null) return // not connected any more: gossipsub forgets the peer itself
      const stream = pubsub.streamsOutbound!.get(peer.toString())
      if (stream != null && stream.rawStream.status === 'open') return // on the surviving connection
      if (stream == null) pubsub.onPeerConnected!(peer, other)
      setTimeout(check, 250).unref()
    }
    setTimeout(check, 100).unref()
  }

  async trim (): Promise<void> {
    if (this.trimming || this.timer == null) return
    this.trimming = true
    try {
      const { libp2p, maxConnections } = this.options
      const settled = Date.now() - (this.options.graceMs ?? 30_000)
      await this.deduplicate(settled)
      const connections = libp2p.getConnections()
      const excess = connections.length - maxConnections
      if (excess <= 0) return
      const candidates = await this.rank(connections.filter(c => idle(c, settled) && c.timeline.open < settled))
      // Idle again, now: ranking awaited the peer store, and a block push or fetch may have opened
      // a stream on a candidate meanwhile (closing it then failed that transfer, and a put moved
      // on to the next holder in XOR order).
      const victims = candidates.filter(c => idle(c, settled)).slice(0, excess)
      await Promise.all(victims.map(closeGently))
      this.closed += victims.length
      this.options.log.debug({ connections: connections.length, maxConnections, closed: victims.length }, 'trimmed connections to the bound')
    } finally {
      this.trimming = false
    }
  }

  /** Closes every second connection to a peer: of two, the one dialled by the higher peer ID (the
   * other end chooses the same one), and of two dialled by one side the newer; only once idle. */
  private async deduplicate (settled: number): Promise<void> {
    const self = this.options.libp2p.peerId.toString()
    const byPeer = new Map<string, Connection[]>()
    for (const c of this.options.libp2p.getConnections()) {
      if (c.status !== 'open') continue
      const key = c.remotePeer.toString()
      byPeer.set(key, [...(byPeer.get(key) ?? []), c])
    }
    const victims: Connection[] = []
    for (const [peer, connections] of byPeer) {
      if (connections.length < 2) continue
      const dialler = (c: Connection): string => c.direction === 'outbound' ? self : peer
      const lower = self < peer ? self : peer
      // Kept first: a direct connection over a relayed one (after a hole punch), then the one
      // dialled by the lower ID, then the older.
      const relayed = (c: Connection): number => Number(isCircuit(c.remoteAddr))
      const ranked = [...connections].sort((a, b) => relayed(a) - relayed(b) || Number(dialler(a) !== lower) - Number(dialler(b) !== lower) || a.timeline.open - b.timeline.open)
      // Stricter than the trimmer's idle: a DHT query in flight (kad) finishes first.
      victims.push(...ranked.slice(1).filter(c => idle(c, settled) && c.streams.every(s => s.protocol == null || !/\/kad\//.test(s.protocol))))
    }
    if (victims.length === 0) return
    await Promise.all(victims.map(closeGently))
    this.deduplicated += victims.length
    this.options.log.debug({ closed: victims.length }, 'closed second connections to the same peers')
  }

  /** Least valuable first: no keep-alive tag, lowest tag value, then the newest. */
  private async rank (connections: Connection[]): Promise<Connection[]> {
    const valued = await Promise.all(connections.map(async connection => {
      const tags = await this.options.libp2p.peerStore.get(connection.remotePeer).then(p => p.tags, () => new Map<string, { value: number }>())
      // kad-dht marks its k closest peers keep-alive too (20 of them, above a small bound): those
      // are only ranked last, by their tag value; other keep-alives (our relay) are never closed.
      const keepAlive = [...tags.keys()].some(name => name.startsWith('keep-alive') && name !== 'keep-alive-kad-dht')
      const value = [...tags.values()].reduce((sum, tag) => sum + tag.value, 0)
      return { connection, keepAlive, value }
    }))
    return valued
      .filter(v => !v.keepAlive)
      .sort((a, b) => a.value - b.value || b.connection.timeline.open - a.connection.timeline.open)
      .map(v => v.connection)
  }
}

/** A graceful close waits for the other side to end each stream; a stream it never answers would
 * hold the close, and with it every later trim, for ever: after 2 s the connection is aborted. */
async function closeGently (connection: Connection): Promise<void> {
  await connection.close({ signal: AbortSignal.timeout(2_000) }).catch(() => { connection.abort(new Error('trimmed')) })
}

/**
 * kad-dht tags its 20 nearest peers keep-alive and libp2p redials keep-alive peers as soon as they
 * drop; kad-dht 16 does not pass its tagger's size through its options, so the tagger is restarted
 * here with `count` (defensively: absent in another kad-dht version, nothing changes).
 */
async function resizeDhtKeepAlive (libp2p: NetworkLibp2p, count: number): Promise<void> {
  interface Tagger { peerSetSize: number, start: () => Promise<void>, stop: () => void }
  const tagger = (libp2p.services.dht as unknown as { routingTable?: { closestPeerTagger?: Tagger } } | undefined)?.routingTable?.closestPeerTagger
  if (tagger == null || typeof tagger.start !== 'function' || tagger.peerSetSize === count) return
  tagger.stop()
  tagger.peerSetSize = count
  await tagger.start()
}

function idle (connection: Connection, settled: number): boolean {
  // A stream still negotiating (no protocol yet) is work about to start, unless it has been
  // negotiating for longer than the grace period: then it is stuck (an identify push or probe the
  // other side never answered) and would otherwise keep the connection forever.
  return connection.status === 'open' && connection.streams.every(s => s.protocol == null ? s.timeline.open < settled : IDLE_PROTOCOLS.some(p => p.test(s.protocol!)))
}
