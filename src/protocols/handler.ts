// Registers a wire protocol on a libp2p node with bounded streams and idle time, and makes sure a
// failing handler only costs its own stream: the error is logged and counted, the node goes on.

import { VaultError } from '../errors.ts'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import type { Logger } from 'pino'

export interface ProtocolHandlerOptions {
  log: Logger
  /** Concurrent inbound streams of this protocol per connection. */
  maxInboundStreams?: number
  /** Concurrent outbound streams of this protocol per connection. */
  maxOutboundStreams?: number
  /** An idle stream is aborted after this long. */
  inactivityTimeoutMs?: number
  /** Called with the error code of every handler failure (BAD_FRAME, TOO_LARGE, …). */
  onError?: (code: string, err: Error) => void
}

export type ProtocolHandler = (stream: Stream, connection: Connection) => Promise<void>

export async function handleProtocol (libp2p: Libp2p, protocol: string, handler: ProtocolHandler, options: ProtocolHandlerOptions): Promise<void> {
  const log = options.log
  const inactivityTimeoutMs = options.inactivityTimeoutMs ?? 30_000
  await libp2p.handle(protocol, async (stream, connection) => {
    stream.inactivityTimeout = inactivityTimeoutMs
    try {
      await handler(stream, connection)
    } catch (err) {
      const code = err instanceof VaultError ? err.code : 'PEER_ERROR'
      options.onError?.(code, err as Error)
      log.debug({ protocol, peer: connection.remotePeer.toString(), code, err: (err as Error).message }, 'protocol stream failed')
      if (stream.status === 'open' || stream.status === 'closing') stream.abort(err as Error)
    }
  }, {
    maxInboundStreams: options.maxInboundStreams ?? 16,
    maxOutboundStreams: options.maxOutboundStreams ?? 32
  })
}

/** An AbortSignal that fires after `ms`, combined with an optional outer signal. */
export function timeoutSignal (ms: number, outer?: AbortSignal): AbortSignal {
  const timeout = AbortSignal.timeout(ms)
  return outer == null ? timeout : AbortSignal.any([timeout, outer])
}
