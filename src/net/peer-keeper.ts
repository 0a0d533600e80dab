// Keeps the node connected: dials bootstrap addresses until one answers, dials peers learned from
// peer exchange or mDNS, and redials every peer we were once connected to when it drops, with
// exponential back-off. Peers only heard of (never connected) are given up after a few failures,
// so a peer that passes on bad addresses cannot keep us dialing forever.

import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Logger } from 'pino'
import { Backoff } from './backoff.ts'
import { peerIdOf } from './addresses.ts'
import type { NetworkLibp2p } from './libp2p-node.ts'

export interface PeerKeeperOptions {
  libp2p: NetworkLibp2p
  log: Logger
  redialInitialMs: number
  redialMaxMs: number
  /** Peers we never connected to are forgotten after this many failed dials. */
  maxAttemptsUnproven: number
  /** Known peers kept for redial; past this, the one disconnected longest is forgotten. */
  maxKnownPeers: number
}

interface Target {
  /** Peer ID, or the bootstrap address text while the peer behind it is unknown. */
  key: string
  peerId?: string
  /** Addresses to dial while we have not been connected to it (bootstrap, peer exchange). */
  addrs: Multiaddr[]
  bootstrap: boolean
  /** Connected at least once: redialed forever. */
  proven: boolean
  backoff: Backoff
  timer?: NodeJS.Timeout
  dialing: boolean
  disconnectedAt: number
}

export class PeerKeeper {
  private readonly options: PeerKeeperOptions
  private readonly targets = new Map<string, Target>()
  private readonly abort = new AbortController()
  private running = false
  dials = 0
  dialFailures = 0

  constructor (options: PeerKeeperOptions) {
    this.options = options
  }

  start (bootstrap: Multiaddr[]): void {
    this.running = true
    for (const addr of bootstrap) {
      const peerId = peerIdOf(addr)
      const target = this.target(peerId ?? addr.toString(), peerId, [addr])
      target.bootstrap = true
      target.proven = true // a bootstrap address is retried until it answers
      this.schedule(target, 0)
    }
  }

  stop (): void {
    this.running = false
    this.abort.abort()
    for (const target of this.targets.values()) clearTimeout(target.timer)
    this.targets.clear()
  }

  /** A peer we heard of (peer exchange, mDNS): dial it soon unless it is connected or pending.
   * Without addresses, libp2p dials what its peer store holds (mDNS puts them there). */
  consider (peerId: string, addrs: Multiaddr[] = []): void {
    if (!this.running || this.isConnected(peerId)) return
    const existing = this.targets.get(peerId)
    if (existing != null) {
      // A known peer that moved (restarted on another port): remember where it is now.
      if (addrs.length > 0 && !existing.bootstrap) existing.addrs = addrs
      return
    }
    if (this.targets.size >= this.options.maxKnownPeers) return
    this.schedule(this.target(peerId, peerId, addrs), 0)
  }

  connected (peerId: string): void {
    const target = this.targets.get(peerId) ?? this.target(peerId, peerId)
    target.proven = true
    target.backoff.succeeded()
    clearTimeout(target.timer)
    target.timer = undefined
    this.evictBeyondLimit()
  }

  disconnected (peerId: string): void {
    const target = this.targets.get(peerId)
    if (!this.running || target == null) return
    target.disconnectedAt = Date.now()
    this.schedule(target, target.backoff.nextDelayMs())
  }

  /** Peers we were connected to this run and are redialling now, with when they went away. */
  away (): Array<{ nodeId: string, addresses: string[], awaySince: Date }> {
    return [...this.targets.values()]
      .filter(t => t.proven && t.peerId !== undefined && !this.isConnected(t.peerId))
      .map(t => ({ nodeId: t.peerId!, addresses: t.addrs.map(String), awaySince: new Date(t.disconnectedAt) }))
  }

  private target (key: string, peerId?: string, addrs: Multiaddr[] = []): Target {
    let target = this.targets.get(key)
    if (target == null) {
      target = {
        key,
        peerId,
        addrs,
        bootstrap: false,
        proven: false,
        backoff: new Backoff({ initialMs: this.options.redialInitialMs, maxMs: this.options.redialMaxMs }),
        dialing: false,
        disconnectedAt: Date.now()
      }
      this.targets.set(key, target)
    }
    return target
  }

  private schedule (target: Target, delayMs: number): void {
    if (!this.running || target.timer != null || target.dialing) return
    target.timer = setTimeout(() => {
      target.timer = undefined
      void this.dial(target)
    }, delayMs)
    target.timer.unref()
  }

  private isConnected (peerId: string): boolean {
    return this.options.libp2p.getConnections(peerIdFromString(peerId)).length > 0
  }

  private async dial (target: Target): Promise<void> {
    if (!this.running || (target.peerId != null && this.isConnected(target.peerId))) return
    target.dialing = true
    this.dials++
    try {
      const connection = await this.options.libp2p.dial(await this.dialTarget(target), { signal: this.abort.signal })
      const peerId = connection.remotePeer.toString()
      if (target.peerId == null) {
        // A bootstrap address without /p2p/: from now on the peer is known by its ID.
        this.targets.delete(target.key)
        this.connected(peerId)
      } else {
        target.backoff.succeeded()
      }
      target.dialing = false
    } catch (err) {
      target.dialing = false
      this.dialFailures++
      target.backoff.failed()
      this.afterFailedDial(target, err as Error)
    }
  }

  /** A peer once connected is dialed at what identify told us (the peer store) plus any newer
   * addresses peer exchange reported; others at the addresses we were given. */
  private async dialTarget (target: Target): Promise<PeerId | Multiaddr[]> {
    if (target.peerId == null || (target.addrs.length > 0 && (target.bootstrap || !target.proven))) return target.addrs
    const peerId = peerIdFromString(target.peerId)
    if (target.addrs.length > 0) {
      await this.options.libp2p.peerStore.merge(peerId, { multiaddrs: target.addrs })
      target.addrs = []
    }
    return peerId
  }

  private afterFailedDial (target: Target, err: Error): void {
    if (!this.running) return
    const log = this.options.log
    if (/dial self/i.test(err.message)) {
      log.info({ target: target.key }, 'bootstrap address is this node itself; not dialing it')
      this.targets.delete(target.key)
      return
    }
    if (!target.proven && target.backoff.attempts >= this.options.maxAttemptsUnproven) {
      log.debug({ peer: target.key, attempts: target.backoff.attempts, err: err.message }, 'giving up on a peer we never reached')
      this.targets.delete(target.key)
      return
    }
    const delayMs = target.backoff.nextDelayMs()
    // A bootstrap address that does not answer is worth telling the operator about.
    log[target.bootstrap ? 'info' : 'debug']({ peer: target.key, attempt: target.backoff.attempts, retryInMs: delayMs, err: err.message }, 'dial failed')
    this.schedule(target, delayMs)
  }

  private evictBeyondLimit (): void {
    if (this.targets.size <= this.options.maxKnownPeers) return
    let oldest: Target | undefined
    for (const target of this.targets.values()) {
      if (target.peerId == null || this.isConnected(target.peerId)) continue
      if (oldest == null || target.disconnectedAt < oldest.disconnectedAt) oldest = target
    }
    if (oldest != null) {
      clearTimeout(oldest.timer)
      this.targets.delete(oldest.key)
    }
  }
}
