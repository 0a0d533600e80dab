// Length-prefixed, size-bounded frames over one libp2p stream, with back-pressure both ways:
// a 4-byte big-endian length, then that many bytes. JSON frames are validated by a zod schema.
// Shared by every distri-vault wire protocol (peer exchange, messages, announcements, chunks).

import { VaultError } from '../errors.ts'
import { byteLength } from '../buffers/index.ts'
import type { Stream } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import type { z } from 'zod'

const HEADER_BYTES = 4
/** Never buffer less than this before pausing the remote, so small frames stream smoothly. */
const MIN_HIGH_WATER_BYTES = 256 * 1024

export interface FrameStreamOptions {
  /** Largest frame (payload bytes) this side accepts or sends. */
  maxFrameBytes: number
  /** Bytes buffered ahead of what a read waits for before the remote is paused (default: one
   * whole largest frame). A holder sets it low, so a peer's big frame sits in memory only once a
   * read asked for it (after its size was reserved from a budget). */
  readAheadBytes?: number
}

export interface FrameIoOptions {
  signal?: AbortSignal
  /** Reads: the largest frame this read accepts (at most `maxFrameBytes`), checked on its length
   * prefix before a byte of it is buffered. A JSON request on a stream whose bodies are blobs is
   * refused from its header, not after the holder took in a blob-sized frame for it. */
  maxBytes?: number
}

/** What a libp2p stream yields: a `Uint8Array`, or a `Uint8ArrayList` (its pieces, in order). */
type ByteChunk = Uint8Array | (Iterable<Uint8Array> & { byteLength: number })

export class FrameStream {
  readonly stream: Stream
  readonly maxFrameBytes: number
  private readonly chunks: Uint8Array[] = []
  private buffered = 0
  private ended = false
  private failure: Error | undefined
  private wake: (() => void) | undefined
  private readonly highWaterBytes: number
  /** Bytes the read in progress waits for: buffering up to them never pauses the remote. */
  private wanted = 0
  /** Closed by us: whatever the remote still sends is dropped, not kept. */
  private discarding = false

  constructor (stream: Stream, options: FrameStreamOptions) {
    if (!Number.isInteger(options.maxFrameBytes) || options.maxFrameBytes < 1 || options.maxFrameBytes > 0xffffffff) {
      throw new VaultError('BAD_INPUT', `maxFrameBytes must be an integer in 1..2^32-1, got ${options.maxFrameBytes}`)
    }
    this.stream = stream
    this.maxFrameBytes = options.maxFrameBytes
    this.highWaterBytes = options.readAheadBytes ?? Math.max(MIN_HIGH_WATER_BYTES, options.maxFrameBytes + HEADER_BYTES)
    stream.addEventListener('message', this.onMessage)
    stream.addEventListener('end', this.onEnd)
    stream.addEventListener('close', this.onClose)
    if (stream.readableEnded || stream.status !== 'open') this.ended = true
  }

  private readonly onMessage = (evt: { data: ByteChunk }): void => {
    if (this.discarding) return
    // The list's pieces as they are: flattening it (`subarray()`) would copy every byte once
    // more before take() copies it into its frame.
    const data = evt.data
    if (data instanceof Uint8Array) this.chunks.push(data)
    else for (const piece of data) this.chunks.push(piece)
    this.buffered += data.byteLength
    // Read-side back-pressure: a paused yamux stream stops granting window, so the sender stalls.
    if (this.buffered >= Math.max(this.highWaterBytes, this.wanted) && this.stream.readStatus === 'readable') this.stream.pause()
    this.notify()
  }

  private readonly onEnd = (): void => { this.ended = true; this.notify() }

  private readonly onClose = (evt: Event): void => {
    if (this.discarding) this.detach()
    const error = (evt as Event & { error?: Error }).error
    if (error != null) this.failure ??= error
    this.ended = true
    this.notify()
  }

  private notify (): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  /** Waits until `bytes` are buffered; false on a clean end of stream before any of them. */
  private async fill (bytes: number, signal?: AbortSignal): Promise<boolean> {
    this.wanted = bytes
    try {
      return await this.waitFor(bytes, signal)
    } finally {
      this.wanted = 0
    }
  }

  private async waitFor (bytes: number, signal?: AbortSignal): Promise<boolean> {
    while (this.buffered < bytes) {
      if (this.failure != null) throw new VaultError('PEER_ERROR', `stream failed: ${this.failure.message}`, { cause: this.failure })
      if (this.ended) {
        if (this.buffered === 0) return false
        throw new VaultError('TRUNCATED', `stream ended inside a frame (${this.buffered}/${bytes} bytes)`)
      }
      if (this.stream.readStatus === 'paused') {
        // resume() hands over what the stream held back while paused at once, synchronously
        // (onMessage runs before it returns, with no read waiting to be woken): look again before
        // sleeping, or the read waits for bytes it already has until the sender gives up.
        this.stream.resume()
        continue
      }
      signal?.throwIfAborted()
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => { this.wake = undefined; reject(signal?.reason ?? new Error('aborted')) }
        this.wake = () => { signal?.removeEventListener('abort', onAbort); resolve() }
        signal?.addEventListener('abort', onAbort, { once: true })
      }).catch((err: unknown) => {
        throw new VaultError('TIMEOUT', 'timed out waiting for a frame', { cause: err })
      })
    }
    return true
  }

  /** Removes `bytes` from the buffer, copying them into `out` when given. */
  private take (bytes: number, out?: Uint8Array): Uint8Array | undefined {
    let filled = 0
    while (filled < bytes) {
      const head = this.chunks[0]
      const n = Math.min(head.byteLength, bytes - filled)
      out?.set(head.subarray(0, n), filled)
      filled += n
      if (n === head.byteLength) this.chunks.shift()
      else this.chunks[0] = head.subarray(n)
    }
    this.buffered -= bytes
    if (this.stream.readStatus === 'paused' && this.buffered < this.highWaterBytes / 2) this.stream.resume()
    return out
  }

  /** The next frame's length, or null when the remote closed its side cleanly between frames. */
  private async readHeader (options: FrameIoOptions): Promise<number | null> {
    if (!await this.fill(HEADER_BYTES, options.signal)) return null
    const length = new DataView(this.take(HEADER_BYTES, new Uint8Array(HEADER_BYTES))!.buffer).getUint32(0)
    const limit = Math.min(this.maxFrameBytes, options.maxBytes ?? this.maxFrameBytes)
    if (length > limit) {
      throw new VaultError('TOO_LARGE', `frame of ${length} bytes exceeds the limit of ${limit}`)
    }
    return length
  }

  /** The next frame's payload, or null when the remote closed its side cleanly between frames. */
  async readFrame (options: FrameIoOptions = {}): Promise<Uint8Array | null> {
    try {
      const length = await this.readHeader(options)
      if (length === null) return null
      if (length > 0 && !await this.fill(length, options.signal)) {
        throw new VaultError('TRUNCATED', 'stream ended after a frame header')
      }
      return this.take(length, frameBuffer(length))!
    } catch (err) {
      this.abort(err as Error)
      throw err
    }
  }

  /**
   * The next frame's payload as the pieces it arrived in (views of the received buffers, in order,
   * never copied), or null when the remote closed its side cleanly between frames. For a big body
   * that is hashed, written (writev) and sent on piece by piece: no assembly copy. The pieces must
   * not be modified (they may share memory with bytes of other frames).
   */
  async readFramePieces (options: FrameIoOptions = {}): Promise<Uint8Array[] | null> {
    try {
      const length = await this.readHeader(options)
      if (length === null) return null
      if (length > 0 && !await this.fill(length, options.signal)) {
        throw new VaultError('TRUNCATED', 'stream ended after a frame header')
      }
      return this.takePieces(length)
    } catch (err) {
      this.abort(err as Error)
      throw err
    }
  }

  /** Removes `bytes` from the buffer as views of the pieces they are in. */
  private takePieces (bytes: number): Uint8Array[] {
    const out: Uint8Array[] = []
    for (let filled = 0; filled < bytes;) {
      const head = this.chunks[0]
      const n = Math.min(head.byteLength, bytes - filled)
      if (n === head.byteLength) {
        out.push(head)
        this.chunks.shift()
      } else {
        out.push(head.subarray(0, n))
        this.chunks[0] = head.subarray(n)
      }
      filled += n
    }
    this.buffered -= bytes
    if (this.stream.readStatus === 'paused' && this.buffered < this.highWaterBytes / 2) this.stream.resume()
    return out
  }

  /** Reads the next frame and drops it as it arrives, never holding more than the read-ahead:
   * keeps a stream in step past a frame that will not be used. Resolves with its length. */
  async skipFrame (options: FrameIoOptions = {}): Promise<number | null> {
    try {
      const length = await this.readHeader(options)
      if (length === null) return null
      for (let left = length; left > 0;) {
        if (!await this.fill(1, options.signal)) throw new VaultError('TRUNCATED', 'stream ended inside a frame')
        const n = Math.min(this.buffered, left)
        this.take(n)
        left -= n
      }
      return length
    } catch (err) {
      this.abort(err as Error)
      throw err
    }
  }

  /** Writes one frame; waits for the stream to drain when its write buffer is full. The payload
   * is not copied (the stream may hold it until sent): do not modify it afterwards. */
  async writeFrame (payload: Uint8Array | readonly Uint8Array[], options: FrameIoOptions = {}): Promise<void> {
    // A frame given as pieces (readFramePieces) is sent as those pieces, never joined.
    const pieces = payload instanceof Uint8Array ? [payload] : payload
    const length = byteLength(pieces)
    if (length > this.maxFrameBytes) {
      throw new VaultError('TOO_LARGE', `frame of ${length} bytes exceeds the limit of ${this.maxFrameBytes}`)
    }
    const header = new Uint8Array(HEADER_BYTES)
    new DataView(header.buffer).setUint32(0, length)
    try {
      // One list of the header and the pieces instead of a concatenation: no copy of a multi-MiB
      // chunk, and the muxer cuts its frames from the whole list, not one per piece.
      let sent: boolean
      if (pieces.length === 1) {
        this.stream.send(header)
        sent = this.stream.send(pieces[0])
      } else {
        // (the muxer's own copy of uint8arraylist is another version of the same class)
        sent = this.stream.send(new Uint8ArrayList(header, ...pieces) as unknown as Parameters<Stream['send']>[0])
      }
      if (!sent && this.stream.writableNeedsDrain) await this.drained(options.signal)
    } catch (err) {
      if (err instanceof VaultError) throw err
      throw new VaultError('PEER_ERROR', `could not write a frame: ${(err as Error).message}`, { cause: err })
    }
  }

  /** Waits for the stream's next 'drain' event. Not `stream.onDrain()`: in @libp2p/utils 7.4.1 its
   * promise is created once and never reset, so after the first drain it resolves at once and
   * write back-pressure is silently lost (the write buffer grows with all the sender has). */
  private async drained (signal?: AbortSignal): Promise<void> {
    const stream = this.stream
    signal?.throwIfAborted()
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error): void => {
        stream.removeEventListener('drain', onDrain)
        stream.removeEventListener('close', onClose)
        signal?.removeEventListener('abort', onAbort)
        if (err == null) resolve()
        else reject(err)
      }
      const onDrain = (): void => { done() }
      const onClose = (evt: Event): void => { done((evt as Event & { error?: Error }).error ?? new Error('the stream closed while waiting to write')) }
      const onAbort = (): void => { done(new VaultError('TIMEOUT', 'timed out waiting for the peer to read', { cause: signal?.reason })) }
      stream.addEventListener('drain', onDrain)
      stream.addEventListener('close', onClose)
      signal?.addEventListener('abort', onAbort)
    })
  }

  async readJson<S extends z.ZodType> (schema: S, options: FrameIoOptions = {}): Promise<z.infer<S> | null> {
    const bytes = await this.readFrame(options)
    if (bytes == null) return null
    return this.decodeJson(schema, bytes)
  }

  decodeJson<S extends z.ZodType> (schema: S, bytes: Uint8Array): z.infer<S> {
    try {
      return parseJsonFrame(schema, bytes)
    } catch (err) {
      this.abort(err as Error)
      throw err
    }
  }

  async writeJson (value: unknown, options: FrameIoOptions = {}): Promise<void> {
    await this.writeFrame(new TextEncoder().encode(JSON.stringify(value)), options)
  }

  /** Closes our writing side after flushing; whatever the remote still sends is dropped as it
   * arrives (not left in the stream's own buffer, which a peer could fill on every stream). */
  async close (options: FrameIoOptions = {}): Promise<void> {
    this.discarding = true
    this.chunks.length = 0
    this.buffered = 0
    if (this.stream.readStatus === 'paused') this.stream.resume()
    if (this.stream.status !== 'open') this.detach()
    if (this.stream.status === 'open') await this.stream.close({ signal: options.signal }).catch(() => {})
  }

  abort (err: Error): void {
    this.detach()
    if (this.stream.status === 'open' || this.stream.status === 'closing') this.stream.abort(err)
  }

  private detach (): void {
    this.stream.removeEventListener('message', this.onMessage)
    this.stream.removeEventListener('end', this.onEnd)
    this.stream.removeEventListener('close', this.onClose)
    this.chunks.length = 0
    this.buffered = 0
  }
}

/** Frames from this size on get memory of their own, not zero-filled first (take() fills all of it). */
const UNZEROED_FROM_BYTES = 4096

/**
 * A plain Uint8Array of `length` bytes that take() overwrites whole. A big frame's memory is not
 * zero-filled first (`new Uint8Array` writes every byte of a 1 MiB chunk frame once before the copy
 * writes it again) and is the whole of its ArrayBuffer, so it can still be moved to a worker.
 */
function frameBuffer (length: number): Uint8Array {
  if (length < UNZEROED_FROM_BYTES) return new Uint8Array(length)
  const memory = Buffer.allocUnsafeSlow(length)
  return new Uint8Array(memory.buffer, memory.byteOffset, length)
}

/** Memory the received buffers behind a frame's pieces may hold beyond twice the frame's size. */
const PIECES_SLACK_BYTES = 256 * 1024

/**
 * The pieces of a frame (readFramePieces) as they are, or joined into one buffer when the buffers
 * they are views of hold much more than the frame: each view keeps its whole received buffer
 * alive, so a peer that cut a body into tiny pieces among other bytes could otherwise make a frame
 * hold many times its size for as long as it is kept. A peer's normal frames arrive in pieces of
 * kilobytes, most of each received buffer.
 */
export function compactPieces (pieces: Uint8Array[]): Uint8Array[] {
  let bytes = 0
  let held = 0
  const seen = new Set<ArrayBufferLike>()
  for (const piece of pieces) {
    bytes += piece.byteLength
    if (!seen.has(piece.buffer)) {
      seen.add(piece.buffer)
      held += piece.buffer.byteLength
    }
  }
  if (pieces.length <= 1 || held <= 2 * bytes + PIECES_SLACK_BYTES) return pieces
  return [Buffer.concat(pieces, bytes)]
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Decodes a JSON frame and validates it; BAD_FRAME for anything that is not exactly the schema. */
export function parseJsonFrame<S extends z.ZodType> (schema: S, bytes: Uint8Array): z.infer<S> {
  let value: unknown
  try {
    value = JSON.parse(utf8.decode(bytes))
  } catch {
    throw new VaultError('BAD_FRAME', 'frame is not valid UTF-8 JSON')
  }
  const result = schema.safeParse(value)
  if (!result.success) throw new VaultError('BAD_FRAME', `frame does not match its schema: ${result.error.issues[0]?.message ?? 'invalid'}`)
  return result.data
}
