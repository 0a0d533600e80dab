// One request, one reply over a fresh stream: the shape of every small distri-vault exchange
// (peer exchange, a direct message and its ack, every block-protocol request). Bounded in size by
// the frame limit and in time by a deadline, so a peer that stops answering costs one stream for
// at most that long.

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

/** Where an exchange failed: opening the stream, or on the open stream. */
export type ExchangePhase = 'open' | 'exchange'

export interface ExchangeOptions extends RequestOptions {
  /**
   * What to throw for a failure (`timeout` is the exchange's deadline joined with `signal`): each
   * protocol names its faults in its own words. The stream is already reset when it is called.
   */
  fault: (err: unknown, phase: ExchangePhase, timeout: AbortSignal) => unknown
}

/**
 * Opens a stream with `open` and runs `run` on it (its writes and reads), then closes it, all
 * within one deadline; any failure resets the stream and is thrown as `options.fault` names it.
 */
export async function exchange<T> (
  open: (timeout: AbortSignal) => Promise<Stream>,
  run: (frames: FrameStream, timeout: AbortSignal) => Promise<T>,
  options: ExchangeOptions
): Promise<T> {
  const timeout = timeoutSignal(options.timeoutMs, options.signal)
  let stream: Stream
  try {
    stream = await open(timeout)
  } catch (err) {
    throw options.fault(err, 'open', timeout)
  }
  const frames = new FrameStream(stream, { maxFrameBytes: options.maxFrameBytes })
  try {
    const result = await run(frames, timeout)
    await frames.close({ signal: timeout })
    return result
  } catch (err) {
    frames.abort(err as Error)
    throw options.fault(err, 'exchange', timeout)
  }
}

/** Opens `protocol` on an existing connection, sends `request`, returns the validated reply. */
export async function requestJson<S extends z.ZodType> (connection: Connection, protocol: string, request: unknown, replySchema: S, options: RequestOptions): Promise<z.infer<S>> {
  return await exchange(async (timeout) => await connection.newStream(protocol, { signal: timeout }), async (frames, timeout) => {
    await frames.writeJson(request, { signal: timeout })
    const reply = await frames.readJson(replySchema, { signal: timeout })
    if (reply == null) throw new VaultError('PEER_ERROR', `${protocol}: the peer closed the stream without a reply`)
    return reply
  }, {
    ...options,
    fault: (err, phase, timeout) => {
      const code = timeout.aborted ? 'TIMEOUT' : 'PEER_ERROR'
      if (phase === 'open') return new VaultError(code, `could not open ${protocol}: ${(err as Error).message}`, { cause: err })
      if (err instanceof VaultError) return err
      return new VaultError(code, `${protocol}: ${(err as Error).message}`, { cause: err })
    }
  })
}
