// Peer exchange (/distri-vault/pex/1): when a peer is identified we swap lists of the peers we are
// connected to, and dial the ones we do not know, so one bootstrap address is enough to join the
// whole network. When a new peer appears we tell the others too (debounced), so two nodes that
// joined through the same node at the same moment still find each other.

import { peerIdFromString } from '@libp2p/peer-id'
import type { Connection } from '@libp2p/interface'
import type { Logger } from 'pino'
import { handleProtocol, requestJson, FrameStream, PexFrame, PEX_PROTOCOL, PEX_MAX_FRAME_BYTES, PEX_MAX_PEERS, PEX_MAX_ADDRS_PER_PEER } from '../protocols/index.ts'
import { isLoopback } from './addresses.ts'
import { dialableAddrsOf } from './peer-addrs.ts'
import type { NetworkLibp2p } from './libp2p-node.ts'
import type { PeerKeeper } from './peer-keeper.ts'
import type { PeerTable } from './peer-table.ts'

export interface PeerExchangeOptions {
  libp2p: NetworkLibp2p
  log: Logger
  peers: PeerTable
  keeper: PeerKeeper
  /** Wait this long after a new peer before telling the others, to batch a burst of joins. */
  announceDelayMs: number
  timeoutMs: number
}

export class PeerExchange {
  private readonly options: PeerExchangeOptions
  private readonly selfId: string
  private announceTimer: NodeJS.Timeout | undefined
  private readonly abort = new AbortController()
  exchanges = 0
  failures = 0

  constructor (options: PeerExchangeOptions) {
    this.options = options
    this.selfId = options.libp2p.peerId.toString()
  }

  async start (): Promise<void> {
    await handleProtocol(this.options.libp2p, PEX_PROTOCOL, async (stream, connection) => {
      const frames = new FrameStream(stream, { maxFrameBytes: PEX_MAX_FRAME_BYTES })
      const signal = AbortSignal.timeout(this.options.timeoutMs)
      const theirs = await frames.readJson(PexFrame, { signal })
      if (theirs == null) return
      await frames.writeJson(this.listFor(connection), { signal })
      await frames.close({ signal })
      this.exchanges++
      await this.learn(theirs)
    }, { log: this.options.log, maxInboundStreams: 2, maxOutboundStreams: 2, inactivityTimeoutMs: this.options.timeoutMs })
  }

  stop (): void {
    clearTimeout(this.announceTimer)
    this.abort.abort()
  }

  /** Swaps peer lists with one peer now. */
  async exchangeWith (peerId: string): Promise<void> {
    const connection = this.options.libp2p.getConnections(peerIdFromString(peerId)).find(c => c.status === 'open')
    if (connection == null) return
    try {
      const theirs = await requestJson(connection, PEX_PROTOCOL, this.listFor(connection), PexFrame, {
        maxFrameBytes: PEX_MAX_FRAME_BYTES, timeoutMs: this.options.timeoutMs, signal: this.abort.signal
      })
      this.exchanges++
      await this.learn(theirs)
    } catch (err) {
      this.failures++
      this.options.log.debug({ peer: peerId, err: (err as Error).message }, 'peer exchange failed')
    }
  }

  /** A peer was identified: swap with it now, and soon tell every other peer about it. */
  peerIdentified (peerId: string): void {
    void this.exchangeWith(peerId)
    if (this.announceTimer != null || this.abort.signal.aborted) return
    this.announceTimer = setTimeout(() => {
      this.announceTimer = undefined
      for (const other of this.options.peers.ids()) {
        if (other !== peerId) void this.exchangeWith(other)
      }
    }, this.options.announceDelayMs)
    this.announceTimer.unref()
  }

  /** Our connected peers for the peer on `connection`; loopback addresses only to a local peer. */
  private listFor (connection: Connection): PexFrame {
    const recipient = connection.remotePeer.toString()
    const localRecipient = isLoopback(connection.remoteAddr)
    const peers: PexFrame['peers'] = []
    for (const id of this.options.peers.ids()) {
      if (id === recipient) continue
      const addrs = this.options.peers.listenAddrs(id)
        .filter(ma => localRecipient || !isLoopback(ma))
        .slice(0, PEX_MAX_ADDRS_PER_PEER)
        .map(String)
      if (addrs.length > 0) peers.push({ id, addrs })
      if (peers.length === PEX_MAX_PEERS) break
    }
    return { peers }
  }

  private async learn (frame: PexFrame): Promise<void> {
    for (const entry of frame.peers) {
      if (entry.id === this.selfId || this.options.peers.has(entry.id)) continue
      const addrs = dialableAddrsOf(entry.id, entry.addrs)
      if (addrs.length > 0) this.options.keeper.consider(entry.id, addrs)
    }
  }
}
