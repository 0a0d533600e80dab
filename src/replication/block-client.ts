// The owner's (and any reader's) side of /distri-vault/block/1: one stream per request, bounded in
// time, with every reply validated and every fetched blob checked against its ID before use.
import type { Libp2p, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { VaultError } from '../errors.ts'
import { sha256Hex } from '../crypto/index.ts'
import { exchange, FrameStream, timeoutSignal, type ExchangePhase } from '../protocols/index.ts'
import { assertBlobId, assertOwnerId } from '../store/index.ts'
import { Limiter } from '../concurrency/index.ts'
import type { z } from 'zod'
import {
  BLOCK_PROTOCOL, MAX_BLOB_BYTES, MAX_IDS_PER_REQUEST, MAX_JSON_FRAME_BYTES, decodeBitmap, deleteReplySchema,
  fromErrorReply, getReplySchema, hasReplySchema, isErrorReply, listReplySchema, putReplySchema, shortId, type BlockRequest,
  MAX_PROVE_IDS, lostReplySchema, proveReplySchema
} from './block-protocol.ts'

export interface BlockClientOptions {
  libp2p: Libp2p
  /** Bound on one request: dial, transfer, and the holder's fsync. */
  timeoutMs?: number
  /** Requests to one peer at once; kept under the holder's inbound stream limit, which resets extras. */
  maxStreamsPerPeer?: number
}

/** A broken LIST stream resumes after the last ID received, this many times without progress. */
const LIST_RETRIES = 2
const RESUMABLE = new Set(['PEER_ERROR', 'TIMEOUT', 'TRUNCATED'])

export class BlockClient {
  private readonly libp2p: Libp2p
  readonly timeoutMs: number
  private readonly maxStreamsPerPeer: number
  private readonly perPeer = new Map<string, Limiter>()

  constructor (options: BlockClientOptions) {
    this.libp2p = options.libp2p
    this.timeoutMs = options.timeoutMs ?? 20_000
    this.maxStreamsPerPeer = options.maxStreamsPerPeer ?? 8
  }

  /** Stores a sealed blob on `peerId` in `owner`'s folder; resolves once the holder has fsynced it. */
  async putBlob (peerId: string, owner: string, id: string, bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
    checkIds(owner, [id])
    if (bytes.byteLength > MAX_BLOB_BYTES) throw new VaultError('TOO_LARGE', `blob of ${bytes.byteLength} bytes exceeds ${MAX_BLOB_BYTES}`)
    await this.exchange(peerId, signal, async (frames, timeout) => {
      await frames.writeJson({ op: 'put', owner, id, size: bytes.byteLength } satisfies BlockRequest, { signal: timeout })
      await frames.writeFrame(bytes, { signal: timeout })
      await readReply(frames, putReplySchema, peerId, timeout)
    })
  }

  /** Fetches a blob from `peerId`; the bytes are verified against `id` before they are returned. */
  async getBlob (peerId: string, owner: string, id: string, signal?: AbortSignal): Promise<Buffer> {
    checkIds(owner, [id])
    return await this.exchange(peerId, signal, async (frames, timeout) => {
      await frames.writeJson({ op: 'get', owner, id } satisfies BlockRequest, { signal: timeout })
      const { size } = await readReply(frames, getReplySchema, peerId, timeout)
      // Hashed here (about a millisecond per MiB): no round trip to a worker and back for the hash.
      // The frame is the whole of its memory, so the caller can still move it to a worker.
      const data = await frames.readFrame({ signal: timeout })
      if (data?.byteLength !== size) throw new VaultError('TRUNCATED', `peer ${shortId(peerId)} sent ${data?.byteLength ?? 0} of ${size} bytes`)
      if (sha256Hex(data) !== id) throw new VaultError('CORRUPT', `peer ${shortId(peerId)} returned bytes that do not match blob ${id.slice(0, 12)}…`)
      return Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    })
  }

  /** Deletes blobs of `owner` on `peerId` (only the owner may); returns how many were there. */
  async deleteBlobs (peerId: string, owner: string, ids: string[], signal?: AbortSignal): Promise<number> {
    checkIds(owner, ids)
    let deleted = 0
    for (const batch of batches(ids)) {
      deleted += await this.exchange(peerId, signal, async (frames, timeout) => {
        await frames.writeJson({ op: 'delete', owner, ids: batch } satisfies BlockRequest, { signal: timeout })
        return (await readReply(frames, deleteReplySchema, peerId, timeout)).deleted
      })
    }
    return deleted
  }

  /** Which of `ids` `peerId` holds for `owner`. */
  async hasBlobs (peerId: string, owner: string, ids: string[], signal?: AbortSignal): Promise<Set<string>> {
    checkIds(owner, ids)
    const held = new Set<string>()
    for (const batch of batches(ids)) {
      const bits = await this.exchange(peerId, signal, async (frames, timeout) => {
        await frames.writeJson({ op: 'has', owner, ids: batch } satisfies BlockRequest, { signal: timeout })
        return decodeBitmap((await readReply(frames, hasReplySchema, peerId, timeout)).held, batch.length)
      })
      batch.forEach((id, i) => { if (bits[i]) held.add(id) })
    }
    return held
  }

  /**
   * An audit of `peerId`: its proof (HMAC-SHA256 keyed by `nonce` over the bytes) for each of `ids`
   * (at most MAX_PROVE_IDS), or null for a blob it says it lacks. Only the owner may ask.
   */
  async proveBlobs (peerId: string, owner: string, nonce: string, ids: string[], signal?: AbortSignal): Promise<Array<string | null>> {
    checkIds(owner, ids)
    if (ids.length === 0 || ids.length > MAX_PROVE_IDS) throw new VaultError('BAD_INPUT', `an audit asks for 1 to ${MAX_PROVE_IDS} blobs, got ${ids.length}`)
    return await this.exchange(peerId, signal, async (frames, timeout) => {
      await frames.writeJson({ op: 'prove', owner, nonce, ids } satisfies BlockRequest, { signal: timeout })
      const { proofs } = await readReply(frames, proveReplySchema, peerId, timeout)
      if (proofs.length !== ids.length) throw new VaultError('BAD_FRAME', `peer ${shortId(peerId)} answered ${proofs.length} proofs for ${ids.length} blobs`)
      return proofs
    })
  }

  /** Tells `owner` (the peer itself) that this node's copies of `ids` went bad and are deleted. */
  async reportLost (owner: string, ids: string[], signal?: AbortSignal): Promise<number> {
    checkIds(owner, ids)
    let dropped = 0
    for (const batch of batches(ids)) {
      dropped += await this.exchange(owner, signal, async (frames, timeout) => {
        await frames.writeJson({ op: 'lost', owner, ids: batch } satisfies BlockRequest, { signal: timeout })
        return (await readReply(frames, lostReplySchema, owner, timeout)).dropped
      })
    }
    return dropped
  }

  /**
   * Every blob ID `peerId` holds for `owner` (only the owner may ask), ascending. Pages stream with
   * back-pressure; the time bound applies per page, so a large folder is not cut off.
   */
  async * listBlobs (peerId: string, owner: string, signal?: AbortSignal): AsyncGenerator<string> {
    checkIds(owner, [])
    let after: string | undefined
    let failures = 0
    while (true) {
      const frames = await this.open(peerId, timeoutSignal(this.timeoutMs, signal), signal)
      let finished = false
      let released = false
      try {
        await frames.writeJson({ op: 'list', owner, after } satisfies BlockRequest, { signal: timeoutSignal(this.timeoutMs, signal) })
        while (!finished) {
          const page = await readReply(frames, listReplySchema, peerId, timeoutSignal(this.timeoutMs, signal))
          finished = page.done
          for (const id of page.ids) {
            if (after !== undefined && id <= after) throw new VaultError('BAD_FRAME', `peer ${shortId(peerId)} listed IDs out of order`)
            after = id
            failures = 0
            yield id
          }
        }
        released = true
        await frames.close()
        return
      } catch (err) {
        released = true
        frames.abort(err as Error)
        if (signal?.aborted === true) throw signal.reason
        const error = translate(err, peerId)
        // Only a broken stream is worth resuming; a refusal or a lie will not change.
        if (!RESUMABLE.has(error.code) || ++failures > LIST_RETRIES) throw error
      } finally {
        // The consumer stopped early (break/return): let the holder go.
        if (!released) frames.abort(new Error('listing abandoned'))
      }
    }
  }

  private async open (peerId: string, timeout: AbortSignal, outer?: AbortSignal): Promise<FrameStream> {
    try {
      return new FrameStream(await this.dial(peerId, timeout), { maxFrameBytes: MAX_BLOB_BYTES })
    } catch (err) {
      throw this.fault(err, 'open', peerId, timeout, outer)
    }
  }

  private async dial (peerId: string, timeout: AbortSignal): Promise<Stream> {
    let target
    try {
      target = peerIdFromString(peerId)
    } catch {
      throw new VaultError('BAD_INPUT', `not a valid node ID: ${peerId}`)
    }
    return await this.libp2p.dialProtocol(target, BLOCK_PROTOCOL, { signal: timeout })
  }

  /** A failed request in the holder's words: the caller's abort as is, then timeout, unreachable, or the peer's fault. */
  private fault (err: unknown, phase: ExchangePhase, peerId: string, timeout: AbortSignal, outer?: AbortSignal): unknown {
    if (phase === 'open' && err instanceof VaultError && err.code === 'BAD_INPUT') return err // a malformed node ID
    if (outer?.aborted === true) return outer.reason
    if (phase === 'open') {
      if (timeout.aborted) return new VaultError('TIMEOUT', `peer ${shortId(peerId)} could not be reached within ${this.timeoutMs} ms`, { cause: err })
      return new VaultError('UNREACHABLE', `peer ${shortId(peerId)} is unreachable: ${(err as Error).message}`, { cause: err })
    }
    if (timeout.aborted) return new VaultError('TIMEOUT', `peer ${shortId(peerId)} did not answer within ${this.timeoutMs} ms`, { cause: err })
    return translate(err, peerId)
  }

  /** Opens a stream, runs one request/reply on it, and closes it; any failure resets the stream. */
  private async exchange<T> (peerId: string, signal: AbortSignal | undefined, run: (frames: FrameStream, timeout: AbortSignal) => Promise<T>): Promise<T> {
    let limiter = this.perPeer.get(peerId)
    if (limiter === undefined) {
      limiter = new Limiter(this.maxStreamsPerPeer)
      this.perPeer.set(peerId, limiter)
    }
    try {
      // The time bound starts once a slot is free: waiting behind our own requests is not the peer's fault.
      return await limiter.run(async () => await this.exchangeNow(peerId, signal, run), signal)
    } finally {
      if (limiter.idle) this.perPeer.delete(peerId)
    }
  }

  private async exchangeNow<T> (peerId: string, signal: AbortSignal | undefined, run: (frames: FrameStream, timeout: AbortSignal) => Promise<T>): Promise<T> {
    return await exchange(async (timeout) => await this.dial(peerId, timeout), run, {
      maxFrameBytes: MAX_BLOB_BYTES,
      timeoutMs: this.timeoutMs,
      signal,
      fault: (err, phase, timeout) => this.fault(err, phase, peerId, timeout, signal)
    })
  }
}

/** Reads one JSON reply; an error frame becomes the holder's typed VaultError. */
async function readReply<T extends object> (frames: FrameStream, schema: z.ZodType<T | { error: { code: string, message: string } }>, peerId: string, signal: AbortSignal): Promise<T> {
  const bytes = await frames.readFrame({ signal, maxBytes: MAX_JSON_FRAME_BYTES })
  if (bytes == null) throw new VaultError('TRUNCATED', `peer ${shortId(peerId)} closed the stream without answering`)
  const reply = frames.decodeJson(schema, bytes)
  if (isErrorReply(reply)) throw fromErrorReply(reply, peerId)
  return reply
}

function translate (err: unknown, peerId: string): VaultError {
  if (err instanceof VaultError) return err
  return new VaultError('PEER_ERROR', `peer ${shortId(peerId)}: ${(err as Error).message}`, { cause: err })
}

/** Bad input is our caller's mistake: say so here rather than have the holder reset the stream. */
function checkIds (owner: string, ids: string[]): void {
  assertOwnerId(owner)
  for (const id of ids) assertBlobId(id)
}

function * batches (ids: string[]): Generator<string[]> {
  for (let i = 0; i < ids.length; i += MAX_IDS_PER_REQUEST) yield ids.slice(i, i + MAX_IDS_PER_REQUEST)
}
