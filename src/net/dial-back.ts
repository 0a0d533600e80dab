// Is this node reachable? (issue 16) libp2p's AutoNAT cannot tell in a private network: it skips
// private addresses (10/8, 192.168/16 — every home and lab network) and wants 4 successes or 8
// failures from peers in different /8 networks, which a family's or a club's network never has.
// So members check each other: a node asks a few connected peers to open a *new* connection back
// to it, at the IP they see it come from and its own listen ports. Behind NAT without port
// forwarding that dial fails (the router has no mapping); on a LAN or a public address it succeeds,
// and the Noise handshake proves it reached this node and not another one at that address.
//
// The answering side dials only the asker's own observed IP, at most a few ports, one check per
// peer per minute, two at a time: a member cannot turn it into a scanner or a flood.

import type { Connection } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Logger } from 'pino'
import { handleProtocol, requestJson, FrameStream, DialBackReply, DialBackRequest, DIAL_BACK_MAX_FRAME_BYTES, DIAL_BACK_MAX_PORTS, DIAL_BACK_PROTOCOL } from '../protocols/index.ts'
import type { NetworkLibp2p } from './libp2p-node.ts'
import { isCircuit } from './addresses.ts'

export type DialBackVerdict = 'public' | 'unreachable' | 'unknown'

export interface DialBackOptions {
  libp2p: NetworkLibp2p
  log: Logger
  /** Deadline of one dial back (and of the request around it, plus a margin). */
  dialTimeoutMs?: number
  /** One check per asking peer within this. */
  perPeerIntervalMs?: number
  /** Peers asked per check. */
  askPeers?: number
}

export class DialBack {
  private readonly options: Required<DialBackOptions>
  private readonly lastAsked = new Map<string, number>()
  private readonly abort = new AbortController()
  answered = 0

  constructor (options: DialBackOptions) {
    this.options = { dialTimeoutMs: 5_000, perPeerIntervalMs: 60_000, askPeers: 3, ...options }
  }

  /** Answers other members' checks. */
  async start (): Promise<void> {
    await handleProtocol(this.options.libp2p, DIAL_BACK_PROTOCOL, async (stream, connection) => {
      const frames = new FrameStream(stream, { maxFrameBytes: DIAL_BACK_MAX_FRAME_BYTES })
      const signal = AbortSignal.timeout(this.options.dialTimeoutMs * 2)
      const request = await frames.readJson(DialBackRequest, { signal })
      if (request == null) return
      const reachable = await this.dialBack(connection, request.ports)
      await frames.writeJson({ reachable } satisfies DialBackReply, { signal })
      await frames.close({ signal })
    }, { log: this.options.log, maxInboundStreams: 2, maxOutboundStreams: 2, inactivityTimeoutMs: this.options.dialTimeoutMs * 2 })
  }

  stop (): void {
    this.abort.abort()
  }

  /**
   * Asks up to `askPeers` directly connected peers to dial us back. 'public' as soon as one got
   * through; 'unreachable' when some answered and none got through; 'unknown' when none answered.
   */
  async check (): Promise<DialBackVerdict> {
    const { libp2p, askPeers, dialTimeoutMs } = this.options
    const ports = [...new Set(libp2p.getMultiaddrs().filter(ma => !isCircuit(ma)).map(tcpPort).filter(p => p != null))].slice(0, DIAL_BACK_MAX_PORTS)
    if (ports.length === 0) return 'unknown'
    const direct = libp2p.getConnections().filter(c => c.status === 'open' && !isCircuit(c.remoteAddr))
    const asked = [...new Map(direct.map(c => [c.remotePeer.toString(), c])).values()].slice(0, askPeers)
    const answers = await Promise.all(asked.map(async connection => {
      try {
        const reply = await requestJson(connection, DIAL_BACK_PROTOCOL, { ports } satisfies DialBackRequest, DialBackReply, {
          maxFrameBytes: DIAL_BACK_MAX_FRAME_BYTES, timeoutMs: dialTimeoutMs * 2 + 2_000, signal: this.abort.signal
        })
        return reply.reachable
      } catch (err) {
        this.options.log.debug({ peer: connection.remotePeer.toString(), err: (err as Error).message }, 'reachability check not answered')
        return undefined
      }
    }))
    if (answers.includes(true)) return 'public'
    return answers.includes(false) ? 'unreachable' : 'unknown'
  }

  /** Opens a new connection to the asker at its observed IP and one of its ports, then closes it. */
  private async dialBack (connection: Connection, ports: number[]): Promise<boolean> {
    const peer = connection.remotePeer.toString()
    const now = Date.now()
    if (isCircuit(connection.remoteAddr) || now - (this.lastAsked.get(peer) ?? -Infinity) < this.options.perPeerIntervalMs) return false
    this.lastAsked.set(peer, now)
    if (this.lastAsked.size > 1024) this.lastAsked.delete(this.lastAsked.keys().next().value!)
    const ip = connection.remoteAddr.getComponents().find(c => c.name === 'ip4' || c.name === 'ip6')
    if (ip?.value == null) return false
    for (const port of ports) {
      const target = multiaddr(`/${ip.name}/${ip.value}/tcp/${port}/p2p/${peer}`)
      try {
        const back = await this.options.libp2p.dial(target, { force: true, signal: AbortSignal.any([AbortSignal.timeout(this.options.dialTimeoutMs), this.abort.signal]) })
        await back.close().catch(() => back.abort(new Error('dial-back done')))
        this.answered++
        return true
      } catch (err) {
        this.options.log.debug({ peer, target: target.toString(), err: (err as Error).message }, 'dial back failed')
      }
    }
    this.answered++
    return false
  }
}

function tcpPort (ma: Multiaddr): number | undefined {
  const tcp = ma.getComponents().find(c => c.name === 'tcp')
  return tcp?.value == null ? undefined : Number(tcp.value)
}
