// Measures each peer's round-trip time with the standard /ipfs/ping/1.0.0 protocol: once when it
// connects, then periodically. A peer that misses several pings in a row is hung up on, which
// ends half-dead TCP connections and hands the peer to the redial back-off. A ping missed while
// this process itself was starved (its timers held up past a tenth of the deadline) is not held
// against the peer: on a loaded machine those hang-ups cut most connections (issue 16, scale).
// A round pings at most `maxPerRound` peers, those pinged longest ago, but enough to reach every
// peer once in 3 rounds: each ping opens a stream (~6 socket writes a side), and pinging all of a
// DHT node's ~25 connections every 10 s from both ends was ~80 % of an idle node's socket writes
// and more than half its CPU (docs/PERFORMANCE.md, session 7). A peer that stops answering is then
// hung up on after at most 9 intervals instead of 3; a peer that goes away closes its connection.

import { peerIdFromString } from '@libp2p/peer-id'
import type { Logger } from 'pino'
import type { NetworkLibp2p } from './libp2p-node.ts'
import type { PeerTable } from './peer-table.ts'
import { starvedSince, startLoopLag, stopLoopLag } from './loop-lag.ts'

export interface LatencyProbeOptions {
  libp2p: NetworkLibp2p
  log: Logger
  peers: PeerTable
  intervalMs: number
  /** Peers pinged per interval at most, unless more are needed to reach each every 3 intervals
   * (default: all, every interval). */
  maxPerRound?: number
  timeoutMs: number
  /** Consecutive failed pings after which the connection is closed. */
  maxFailures: number
  /** A ping missed while this process's timers were held up this long is not counted (default:
   * a tenth of `timeoutMs`, at least 250 ms). */
  starvedLagMs?: number
}

export class LatencyProbe {
  private readonly options: LatencyProbeOptions
  private timer: NodeJS.Timeout | undefined
  private readonly abort = new AbortController()
  private readonly inFlight = new Set<string>()
  /** When each peer's last ping started. */
  private readonly lastPinged = new Map<string, number>()
  /** Missed pings not held against the peer (this process was starved meanwhile). */
  excused = 0

  constructor (options: LatencyProbeOptions) {
    this.options = options
  }

  start (): void {
    startLoopLag()
    this.timer = setInterval(() => { this.round() }, this.options.intervalMs)
    this.timer.unref()
  }

  stop (): void {
    if (this.timer != null) stopLoopLag()
    clearInterval(this.timer)
    this.timer = undefined
    this.abort.abort()
  }

  /** One interval's pings: every peer, or the ones pinged longest ago (see the top). */
  private round (): void {
    const ids = this.options.peers.ids()
    const budget = Math.max(this.options.maxPerRound ?? Infinity, Math.ceil(ids.length / 3))
    const due = ids.length <= budget ? ids : ids.sort((a, b) => (this.lastPinged.get(a) ?? 0) - (this.lastPinged.get(b) ?? 0)).slice(0, budget)
    for (const nodeId of due) void this.probe(nodeId)
    if (this.lastPinged.size > ids.length) {
      const current = new Set(ids)
      for (const nodeId of this.lastPinged.keys()) if (!current.has(nodeId)) this.lastPinged.delete(nodeId)
    }
  }

  async probe (nodeId: string): Promise<void> {
    if (this.inFlight.has(nodeId) || this.abort.signal.aborted) return
    this.inFlight.add(nodeId)
    this.lastPinged.set(nodeId, Date.now())
    const { libp2p, peers, log } = this.options
    const peerId = peerIdFromString(nodeId)
    const started = Date.now()
    try {
      const signal = AbortSignal.any([AbortSignal.timeout(this.options.timeoutMs), this.abort.signal])
      // Never dial for a ping: a peer that is gone is the redial loop's business.
      if (libp2p.getConnections(peerId).length === 0) return
      const latencyMs = await libp2p.services.ping.ping(peerId, { signal })
      peers.recordPing(nodeId, latencyMs)
    } catch (err) {
      if (this.abort.signal.aborted) return
      const { starved, lagMs } = starvedSince(started, this.options.timeoutMs, this.options.starvedLagMs)
      if (starved) {
        this.excused++
        log.debug({ peer: nodeId, lagMs, err: (err as Error).message }, 'ping missed while this process was starved; not held against the peer')
        return
      }
      const failures = peers.recordPing(nodeId, null)
      log.debug({ peer: nodeId, failures, err: (err as Error).message }, 'ping failed')
      if (failures >= this.options.maxFailures) {
        log.info({ peer: nodeId, failures }, 'peer stopped answering pings; closing its connection')
        await libp2p.hangUp(peerId).catch(() => {})
      }
    } finally {
      this.inFlight.delete(nodeId)
    }
  }
}
