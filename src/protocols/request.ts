// One request, one reply over a fresh stream: the shape of every small distri-vault exchange
// (peer exchange, a direct message and its ack). Bounded in size by the frame limit and in time
// by a deadline, so a peer that stops answering costs one stream for at most that long.

import type { Connection, Stream } from '@libp2p/interface'
import type { z } from 'zod'
import { VaultError } from '../errors.ts'
import { FrameStream } from './framing.ts'
import { timeoutSignal } from './handler.ts'

export interface RequestOptions {
  maxFrameBytes: number
  timeoutMs: number
  signal?: AbortSignal
}

/** Opens `protocol` on an existing connection, sends `request`, returns the validated reply. */
export async function requestJson<S extends z.ZodType> (connection: Connection, protocol: string, request: unknown, replySchema: S, options: RequestOptions): Promise<z.infer<S>> {
  const signal = timeoutSignal(options.timeoutMs, options.signal)
  let stream: Stream
  try {
    stream = await connection.newStream(protocol, { signal })
  } catch (err) {
    throw new VaultError(signal.aborted ? 'TIMEOUT' : 'PEER_ERROR', `could not open ${protocol}: ${(err as Error).message}`, { cause: err })
  }
  const frames = new FrameStream(stream, { maxFrameBytes: options.maxFrameBytes })
  try {
    await frames.writeJson(request, { signal })
    const reply = await frames.readJson(replySchema, { signal })
    if (reply == null) throw new VaultError('PEER_ERROR', `${protocol}: the peer closed the stream without a reply`)
    await frames.close({ signal })
    return reply
  } catch (err) {
    frames.abort(err as Error)
    if (err instanceof VaultError) throw err
    throw new VaultError(signal.aborted ? 'TIMEOUT' : 'PEER_ERROR', `${protocol}: ${(err as Error).message}`, { cause: err })
  }
}
