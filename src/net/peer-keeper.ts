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
  /** With the DHT (issue 16): keep only the --peer addresses, and redial them only when the node
   * has no connection left; the DHT and libp2p's connection manager choose the other peers. */
  bootstrapOnly?: boolean
}

/** A peer we want and have not got: away since `awaySince`, or a configured address never reached. */
export interface AwayPeer {
  /** null for a configured address whose peer we never reached (its ID is unknown). */
  nodeId: string | null
  addresses: string[]
  awaySince: Date
  /** Given with --peer. */
  configured: boolean
  /** Why the last dial failed, and when; a likely cause in words when we can tell. */
  lastError?: string
  lastErrorAt?: Date
  hint?: string
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
  configured: boolean
  lastError?: { message: string, at: number, hint?: string }
  /** When a report of new addresses last cut its back-off short (consider()). */
  movedDialAt: number
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
      target.configured = true
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
      // A known peer that moved (restarted on another port): remember where it is now, and if we
      // lost it and wait out its back-off (up to redialMaxMs) at the addresses it left, dial it
      // there now. Once per redialMaxMs at most: a peer that keeps reporting it cannot make us
      // dial in a loop.
      if (addrs.length > 0 && !existing.bootstrap) {
        existing.addrs = addrs
        const now = Date.now()
        if (existing.proven && existing.timer != null && now - existing.movedDialAt >= this.options.redialMaxMs) {
          existing.movedDialAt = now
          clearTimeout(existing.timer)
          existing.timer = undefined
          this.schedule(existing, 0)
        }
      }
      return
    }
    if (this.targets.size >= this.options.maxKnownPeers) return
    this.schedule(this.target(peerId, peerId, addrs), 0)
  }

  connected (peerId: string, configured = false): void {
    if (this.options.bootstrapOnly === true && !configured && !this.targets.has(peerId)) return
    const target = this.targets.get(peerId) ?? this.target(peerId, peerId)
    target.proven = true
    target.configured ||= configured
    target.lastError = undefined
    target.backoff.succeeded()
    clearTimeout(target.timer)
    target.timer = undefined
    this.evictBeyondLimit()
  }

  disconnected (peerId: string): void {
    const target = this.targets.get(peerId)
    if (!this.running || target == null) return
    target.disconnectedAt = Date.now()
    if (this.options.bootstrapOnly === true && this.options.libp2p.getConnections().length > 0) return
    this.schedule(target, target.backoff.nextDelayMs())
  }

  /** No connection left (bootstrapOnly): dial the bootstrap addresses again. */
  isolated (): void {
    for (const target of this.targets.values()) if (target.configured) this.schedule(target, target.backoff.nextDelayMs())
  }

  /**
   * Peers we were connected to this run and are redialling now, with when they went away, and
   * the --peer addresses not reached yet; each with why its last dial failed.
   */
  away (): AwayPeer[] {
    return [...this.targets.values()]
      .filter(t => t.proven && (t.peerId == null ? t.configured : !this.isConnected(t.peerId)))
      .map(t => ({
        nodeId: t.peerId ?? null,
        addresses: t.addrs.length > 0 ? t.addrs.map(String) : (t.peerId == null ? [t.key] : []),
        awaySince: new Date(t.disconnectedAt),
        configured: t.configured,
        ...(t.lastError === undefined ? {} : { lastError: t.lastError.message, lastErrorAt: new Date(t.lastError.at), ...(t.lastError.hint === undefined ? {} : { hint: t.lastError.hint }) })
      }))
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
        disconnectedAt: Date.now(),
        configured: false,
        movedDialAt: 0
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
        this.connected(peerId, target.configured)
      } else {
        target.backoff.succeeded()
      }
      target.dialing = false
    } catch (err) {
      target.dialing = false
      this.dialFailures++
      target.backoff.failed()
      target.lastError = { message: dialErrorText(err), at: Date.now(), hint: dialErrorHint(err) }
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
    if (err.name === 'InvalidPeerIdError') { // libp2p's error for a dial that reached this node itself
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

function dialErrorText (err: unknown): string {
  const e = err as Error | undefined
  const message = (e?.message ?? String(err)).slice(0, 300)
  return e?.name !== undefined && e.name !== 'Error' && !message.includes(e.name) ? `${e.name}: ${message}` : message
}

/**
 * A likely cause, in the user's words. A connection that opens and then fails in the encryption
 * handshake is what a node of another network (another network.key: the pnet XOR garbles the
 * Noise handshake) looks like from here.
 */
function dialErrorHint (err: unknown): string | undefined {
  const text = `${(err as Error)?.name ?? ''} ${(err as Error)?.message ?? String(err)}`
  const codes = collectCodes(err)
  if (/EncryptionFailed|InvalidCryptoExchange|handshake|decrypt|invalid (mac|tag)|pnet|psk/i.test(text)) {
    return 'wrong network key suspected: the connection opened but the handshake failed (is network.key the same on both nodes?)'
  }
  if (codes.has('ECONNREFUSED') || /ECONNREFUSED/.test(text)) return 'nothing listens at that address (connection refused): is the node running, on that port?'
  if (codes.has('ETIMEDOUT') || /timed? ?out|TimeoutError/i.test(text)) return 'no answer in time: a firewall, or a wrong host'
  if (codes.has('EHOSTUNREACH') || codes.has('ENETUNREACH') || codes.has('ENOTFOUND')) return 'that host cannot be reached (no route, or an unknown name)'
  if (/UnexpectedPeer|does not match/i.test(text)) return 'another node answers at that address than its /p2p/ ID says'
  return undefined
}

/** Error codes of an error, its causes and aggregated errors (libp2p wraps socket errors). */
function collectCodes (err: unknown, into = new Set<string>(), depth = 0): Set<string> {
  if (err === null || typeof err !== 'object' || depth > 4) return into
  const e = err as { code?: unknown, cause?: unknown, errors?: unknown }
  if (typeof e.code === 'string') into.add(e.code)
  collectCodes(e.cause, into, depth + 1)
  if (Array.isArray(e.errors)) for (const inner of e.errors.slice(0, 8)) collectCodes(inner, into, depth + 1)
  return into
}
