// Connections refused before they became peers: a node with another network key, garbage on the
// port, a host over its connection rate. Each is counted, reported to a listener and logged as a
// warning with the remote address — at most once per address and reason per window, so a flood
// cannot flood the log too.

import type { ConnectionProtector, MessageStream } from '@libp2p/interface'
import type { Logger } from 'pino'
import { describeLogArg } from './libp2p-log.ts'

export interface Refusal {
  remoteAddr: string
  direction: 'inbound' | 'outbound'
  reason: string
}

const WARN_WINDOW_MS = 30_000
const MAX_WARN_KEYS = 1024

export class RefusalReporter {
  private readonly log: Logger
  private readonly onRefusal: (refusal: Refusal) => void
  private readonly lastWarnAt = new Map<string, number>()
  refused = 0
  denied = 0
  stopping = false

  constructor (log: Logger, onRefusal: (refusal: Refusal) => void) {
    this.log = log
    this.onRefusal = onRefusal
  }

  /** The upgrade (network-key check, encryption, muxer) of a connection failed. */
  upgradeFailed (direction: 'inbound' | 'outbound', remoteAddr: string, err: unknown): void {
    const error = describeLogArg(err)
    // Our own shutdown, or dialing ourselves through a bootstrap address: not a refusal.
    if (this.stopping || /InvalidPeerIdError|AbortError/.test(error)) {
      this.log.debug({ remoteAddr, direction, err: error }, 'connection upgrade aborted')
      return
    }
    // Our own inbound guard turned it away (its per-IP line was full): a limit, not a handshake.
    if (/blocked by gater\.denyInboundConnection/.test(error)) {
      this.inboundDenied(remoteAddr, 'too many connections from this address waiting for a handshake')
      return
    }
    const reason = /UnexpectedPeerError|does not match/i.test(error)
      ? 'the remote has another node ID than the address said'
      : direction === 'inbound'
        ? 'handshake failed: the remote is not a member of this network (different network key, or not a libp2p node)'
        : 'handshake failed: the remote is not a member of this network (different network key) or refused us'
    this.refused++
    this.report({ remoteAddr, direction, reason }, error)
  }

  /** The connection manager turned an inbound connection away before any handshake. */
  inboundDenied (remoteAddr: string, why: string): void {
    this.denied++
    this.report({ remoteAddr, direction: 'inbound', reason: `connection limit: ${why}` }, why)
  }

  /** Wraps the private-network protector so that failures during its nonce exchange (a peer that
   * closes or stalls before sending 24 bytes) are reported with their address too: libp2p runs
   * the protector outside the try block that logs the other upgrade failures. */
  guard (inner: ConnectionProtector): ConnectionProtector {
    return {
      protect: async (connection: MessageStream, options) => {
        try {
          return await inner.protect(connection, options)
        } catch (err) {
          const maConn = connection as MessageStream & { remoteAddr?: { toString: () => string } }
          this.upgradeFailed(connection.direction, String(maConn.remoteAddr ?? 'unknown'), err)
          throw err
        }
      }
    }
  }

  private report (refusal: Refusal, error: string): void {
    this.onRefusal(refusal)
    const key = `${refusal.direction} ${refusal.remoteAddr.replace(/\/tcp\/\d+$/, '')} ${refusal.reason}`
    const now = Date.now()
    const last = this.lastWarnAt.get(key)
    if (last != null && now - last < WARN_WINDOW_MS) return
    if (this.lastWarnAt.size >= MAX_WARN_KEYS) this.lastWarnAt.clear()
    this.lastWarnAt.set(key, now)
    this.log.warn({ remoteAddr: refusal.remoteAddr, direction: refusal.direction, err: error }, `connection refused: ${refusal.reason}`)
  }
}
