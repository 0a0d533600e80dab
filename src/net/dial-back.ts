// Is this node reachable? (issue 16) libp2p's AutoNAT cannot tell in a private network: it skips
// private addresses (10/8, 192.168/16 — every home and lab network) and wants 4 successes or 8
// failures from peers in different /8 networks, which a family's or a club's network never has.
// So members check each other: a node asks a few connected peers to open a *new* connection back
// to it, at the IP they see it come from and its own listen ports. Behind NAT without port
// forwarding that dial fails (the router has no mapping); on a LAN or a public address it succeeds,
// and the Noise handshake proves it reached this node and not another one at that address.
//
// The answering side dials only the asker's own observed IP, at most a few ports (at once), one
// check per peer per few seconds, two at a time per connection: a member cannot turn it into a
// scanner or a flood. A peer that does not try (asked again too soon, a relayed connection) closes
// the stream without a reply: "no answer", never "unreachable". What the answers add up to is
// reachability.ts's to judge.

import type { Connection } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Logger } from 'pino'
import { handleProtocol, requestJson, FrameStream, DialBackReply, DialBackRequest, DIAL_BACK_MAX_FRAME_BYTES, DIAL_BACK_MAX_PORTS, DIAL_BACK_MAX_TIMEOUT_MS, DIAL_BACK_MIN_TIMEOUT_MS, DIAL_BACK_PROTOCOL } from '../protocols/index.ts'
import type { NetworkLibp2p } from './libp2p-node.ts'
import { isCircuit } from './addresses.ts'
import type { DialBackAnswer } from './reachability.ts'
import { starvedSince, startLoopLag, stopLoopLag } from './loop-lag.ts'

export type { DialBackVerdict } from './reachability.ts'

export interface DialBackOptions {
  libp2p: NetworkLibp2p
  log: Logger
  /** Deadline of one dial back: what we ask of the peers that check us, and what we allow when
   * a peer asks without saying. Long on purpose: a success comes in well under it, and only a
   * failure waits it out, so a loaded machine does not pass for an unreachable one. */
  dialTimeoutMs?: number
  /** Beyond the dial's deadline, how long we wait for the reply (the peer may be slow too). */
  replyMarginMs?: number
  /** One check per asking peer within this. */
  perPeerIntervalMs?: number
  /** Peers asked per check. */
  askPeers?: number
}

/** What one check heard, and how many distinct peers it could have asked. */
export interface DialBackCheck {
  answers: DialBackAnswer[]
  peersAvailable: number
}

export class DialBack {
  private readonly options: Required<DialBackOptions>
  private readonly lastAsked = new Map<string, number>()
  private readonly abort = new AbortController()
  private started = false
  answered = 0
  /** Failed dial backs not counted: this process was starved while they ran (check). */
  excused = 0

  constructor (options: DialBackOptions) {
    this.options = { dialTimeoutMs: 15_000, replyMarginMs: 10_000, perPeerIntervalMs: 5_000, askPeers: 3, ...options }
  }

  /** Answers other members' checks. */
  async start (): Promise<void> {
    const { dialTimeoutMs, replyMarginMs } = this.options
    startLoopLag()
    this.started = true
    await handleProtocol(this.options.libp2p, DIAL_BACK_PROTOCOL, async (stream, connection) => {
      const frames = new FrameStream(stream, { maxFrameBytes: DIAL_BACK_MAX_FRAME_BYTES })
      const request = await frames.readJson(DialBackRequest, { signal: AbortSignal.timeout(replyMarginMs) })
      if (request == null) return
      const timeoutMs = Math.min(DIAL_BACK_MAX_TIMEOUT_MS, Math.max(DIAL_BACK_MIN_TIMEOUT_MS, request.timeoutMs ?? dialTimeoutMs))
      const reachable = await this.dialBack(connection, request.ports, timeoutMs)
      const signal = AbortSignal.timeout(replyMarginMs)
      if (reachable !== undefined) await frames.writeJson({ reachable } satisfies DialBackReply, { signal })
      await frames.close({ signal })
    }, { log: this.options.log, maxInboundStreams: 2, maxOutboundStreams: 2, inactivityTimeoutMs: DIAL_BACK_MAX_TIMEOUT_MS + replyMarginMs })
  }

  stop (): void {
    this.abort.abort()
    if (this.started) stopLoopLag()
    this.started = false
  }

  /**
   * Asks up to `askPeers` directly connected peers to dial us back, those in `askLast` (peers that
   * failed to before) only when there are not enough others: independent evidence first.
   */
  async check (askLast: ReadonlySet<string> = new Set()): Promise<DialBackCheck> {
    const { libp2p, askPeers, dialTimeoutMs, replyMarginMs } = this.options
    const ports = [...new Set(libp2p.getMultiaddrs().filter(ma => !isCircuit(ma)).map(tcpPort).filter(p => p != null))].slice(0, DIAL_BACK_MAX_PORTS)
    const direct = libp2p.getConnections().filter(c => c.status === 'open' && !isCircuit(c.remoteAddr))
    const byPeer = [...new Map(direct.map(c => [c.remotePeer.toString(), c])).values()]
    if (ports.length === 0) return { answers: [], peersAvailable: byPeer.length }
    const asked = [...byPeer.filter(c => !askLast.has(c.remotePeer.toString())), ...byPeer.filter(c => askLast.has(c.remotePeer.toString()))].slice(0, askPeers)
    const started = Date.now()
    const answers = await Promise.all(asked.map(async (connection): Promise<DialBackAnswer> => {
      const peer = connection.remotePeer.toString()
      try {
        const reply = await requestJson(connection, DIAL_BACK_PROTOCOL, { ports, timeoutMs: dialTimeoutMs } satisfies DialBackRequest, DialBackReply, {
          maxFrameBytes: DIAL_BACK_MAX_FRAME_BYTES, timeoutMs: dialTimeoutMs + replyMarginMs, signal: this.abort.signal
        })
        return { peer, reachable: reply.reachable }
      } catch (err) {
        this.options.log.debug({ peer, err: (err as Error).message }, 'reachability check not answered')
        return { peer, reachable: undefined }
      }
    }))
    return { answers: this.excuseIfStarved(answers, started), peersAvailable: byPeer.length }
  }

  /**
   * A dial back that failed while this process was starved (its timers held up a tenth of the
   * dial's deadline, at least 250 ms, as the latency probe weighs a missed ping) says nothing about
   * our reachability: the handshake could not finish here in time. Counted as no answer. Under
   * load, many nodes in one process judged themselves unreachable this way and went looking for
   * relays, dialling peers in bursts (the DHT bound test's failure, docs/PERFORMANCE.md).
   */
  private excuseIfStarved (answers: DialBackAnswer[], since: number): DialBackAnswer[] {
    const failed = answers.filter(a => a.reachable === false).length
    if (failed === 0) return answers
    const { starved, lagMs } = starvedSince(since, this.options.dialTimeoutMs)
    if (!starved) return answers
    this.excused += failed
    this.options.log.debug({ failed, lagMs }, 'dial backs failed while this process was starved; not counted')
    return answers.map(a => a.reachable === false ? { peer: a.peer, reachable: undefined } : a)
  }

  /** Opens a new connection to the asker at its observed IP, on its ports at once, then closes it.
   * Undefined when it does not try. */
  private async dialBack (connection: Connection, ports: number[], timeoutMs: number): Promise<boolean | undefined> {
    const peer = connection.remotePeer.toString()
    const now = Date.now()
    if (isCircuit(connection.remoteAddr) || now - (this.lastAsked.get(peer) ?? -Infinity) < this.options.perPeerIntervalMs) return undefined
    const ip = connection.remoteAddr.getComponents().find(c => c.name === 'ip4' || c.name === 'ip6')
    if (ip?.value == null) return undefined
    this.lastAsked.set(peer, now)
    if (this.lastAsked.size > 1024) this.lastAsked.delete(this.lastAsked.keys().next().value!)
    const done = new AbortController()
    const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), this.abort.signal, done.signal])
    const attempts = ports.map(async port => {
      const target = multiaddr(`/${ip.name}/${ip.value}/tcp/${port}/p2p/${peer}`)
      try {
        const back = await this.options.libp2p.dial(target, { force: true, signal })
        done.abort()
        await back.close().catch(() => back.abort(new Error('dial-back done')))
      } catch (err) {
        this.options.log.debug({ peer, target: target.toString(), err: (err as Error).message }, 'dial back failed')
        throw err
      }
    })
    const reached = await Promise.any(attempts).then(() => true, () => false)
    if (!reached && this.abort.signal.aborted) return undefined
    this.answered++
    return reached
  }
}

function tcpPort (ma: Multiaddr): number | undefined {
  const tcp = ma.getComponents().find(c => c.name === 'tcp')
  return tcp?.value == null ? undefined : Number(tcp.value)
}
