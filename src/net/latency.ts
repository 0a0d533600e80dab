// Measures each peer's round-trip time with the standard /ipfs/ping/1.0.0 protocol: once when it
// connects, then periodically. A peer that misses several pings in a row is hung up on, which
// ends half-dead TCP connections and hands the peer to the redial back-off. A ping missed while
// this process itself was starved (its timers held up past a tenth of the deadline) is not held
// against the peer: on a loaded machine those hang-ups cut most connections (issue 16, scale).

import { peerIdFromString } from '@libp2p/peer-id'
import type { Logger } from 'pino'
import type { NetworkLibp2p } from './libp2p-node.ts'
import type { PeerTable } from './peer-table.ts'
import { maxLoopLagSince, startLoopLag, stopLoopLag } from './loop-lag.ts'

export interface LatencyProbeOptions {
  libp2p: NetworkLibp2p
  log: Logger
  peers: PeerTable
  intervalMs: number
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
  /** Missed pings not held against the peer (this process was starved meanwhile). */
  excused = 0

  constructor (options: LatencyProbeOptions) {
    this.options = options
  }

  start (): void {
    startLoopLag()
    this.timer = setInterval(() => {
      for (const nodeId of this.options.peers.ids()) void this.probe(nodeId)
    }, this.options.intervalMs)
    this.timer.unref()
  }

  stop (): void {
    if (this.timer != null) stopLoopLag()
    clearInterval(this.timer)
    this.timer = undefined
    this.abort.abort()
  }

  async probe (nodeId: string): Promise<void> {
    if (this.inFlight.has(nodeId) || this.abort.signal.aborted) return
    this.inFlight.add(nodeId)
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
      const lagMs = maxLoopLagSince(started)
      if (lagMs >= (this.options.starvedLagMs ?? Math.max(250, this.options.timeoutMs / 10))) {
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
