// The holder's side of /distri-vault/block/1: keeps other owners' sealed blobs in their folders of
// the BlobStore. Only an owner (the authenticated remote peer) writes, deletes or lists its folder;
// any network member may read or probe a blob by ID, since it is ciphertext anyway.
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import type { Logger } from 'pino'
import { setTimeout as delay } from 'node:timers/promises'
import { VaultError } from '../errors.ts'
import { proofOf } from './audit-proof.ts'
import { ByteBudget, FrameStream, compactPieces, handleProtocol, timeoutSignal, type ByteReservation } from '../protocols/index.ts'
import { sha256HexOfPieces } from '../crypto/index.ts'
import { settleBy } from '../concurrency/index.ts'
import type { BlobStore } from '../store/index.ts'
import { byteLength } from '../buffers/index.ts'
import {
  BLOCK_PROTOCOL, LIST_PAGE_IDS, MAX_BLOB_BYTES, MAX_JSON_FRAME_BYTES, blockRequestSchema, encodeBitmap,
  isReplyable, shortId, toErrorReply, type BlockRequest
} from './block-protocol.ts'

export interface BlockServerOptions {
  libp2p: Libp2p
  store: BlobStore
  /** Cap on the bytes held for other owners (this node's own folder is not counted). */
  maxStorageBytes?: number
  /** Cap on the bytes held for any one other owner (its folder's quota on this holder). */
  maxPerOwnerBytes?: number
  /** Memory that PUT bodies may take, per peer and in all (default DEFAULT_INBOUND_BUDGET). */
  inboundBudget?: ByteBudget
  log: Logger
  /** Time to receive a request and answer it (LIST is bounded per page instead). */
  requestTimeoutMs?: number
  /** Concurrent block streams accepted per connection; more are reset by libp2p. */
  maxInboundStreams?: number
  onStored?: (owner: string, id: string, bytes: number) => void
  onDeleted?: (owner: string, id: string) => void
  /** A holder reports that its copies of these blobs of ours are gone; returns the records dropped. */
  onLost?: (holder: string, ids: string[]) => number
  /** Test-only fault injection, never set by the CLI: each GET reply waits `delayMs` first (a stalled holder); `corrupt` flips one byte of every blob served (a lying one). */
  serveFault?: ServeFault
}

export interface ServeFault { delayMs?: number, corrupt?: boolean }

type Request<Op extends BlockRequest['op']> = Extract<BlockRequest, { op: Op }>

/** A request as read off the stream; `body` holds a PUT's sealed bytes, `reservation` their share
 * of the inbound budget, `refusal` why a PUT's body was skipped instead (the budget was used up). */
interface Incoming { request: BlockRequest, body?: readonly Uint8Array[], reservation?: ByteReservation, refusal?: VaultError }

/** Before a PUT's size is reserved, a stream buffers at most this much ahead of its reads. */
const READ_AHEAD_BYTES = 64 * 1024

/** PUT bodies in memory: 4 of the largest blobs per peer (an owner's put keeps ≤ 8 MiB in flight),
 * 64 MiB in all. A peer that withholds its bodies' last bytes pins its share, never more. */
export const DEFAULT_INBOUND_BUDGET = { perPeerBytes: 4 * MAX_BLOB_BYTES, totalBytes: 64 * 1024 * 1024 }

export class BlockServer {
  private readonly options: BlockServerOptions
  private readonly log: Logger
  private readonly selfId: string
  private readonly requestTimeoutMs: number
  /** Bytes of PUTs accepted but not yet on disk, by owner: concurrent PUTs can't overshoot a cap together. */
  private readonly reservedByOwner = new Map<string, number>()
  private reservedBytes = 0
  private started = false
  readonly inboundBudget: ByteBudget
  /** Requests refused (an error frame sent) and malformed streams, by code, since start: for /metrics. */
  private readonly refusalCounts = new Map<string, number>()
  /** GET requests answered with a blob since start. */
  servedBlobs = 0
  /** Aborted at stop: a request still being answered (a slow disk, a stalled read) ends with the
   * holder instead of running on to its 60 s deadline after the node is gone. */
  private stopping = new AbortController()
  private active = 0

  constructor (options: BlockServerOptions) {
    this.options = options
    this.log = options.log.child({ sub: 'block-server' })
    this.selfId = options.libp2p.peerId.toString()
    this.requestTimeoutMs = options.requestTimeoutMs ?? 60_000
    this.inboundBudget = options.inboundBudget ?? new ByteBudget(DEFAULT_INBOUND_BUDGET)
  }

  async start (): Promise<void> {
    if (this.started) return
    if (this.stopping.signal.aborted) this.stopping = new AbortController()
    await handleProtocol(this.options.libp2p, BLOCK_PROTOCOL, async (stream, connection) => await this.serve(stream, connection), {
      log: this.log,
      maxInboundStreams: this.options.maxInboundStreams ?? 16,
      maxOutboundStreams: 64,
      onError: (code) => {
        if (code !== 'BAD_FRAME' && code !== 'TOO_LARGE') return
        this.countRefusal(code)
        this.log.warn({ code }, 'peer sent a malformed block frame')
      }
    })
    this.started = true
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.stopping.abort(new VaultError('NOT_RUNNING', 'the holder is stopping'))
    await this.options.libp2p.unhandle(BLOCK_PROTOCOL).catch(() => {})
  }

  /** Requests being read or answered right now. */
  activeRequests (): number {
    return this.active
  }

  /** What this holder refused its peers, by code (FORBIDDEN, BUSY, STORAGE_FULL, BAD_FRAME…). */
  refusals (): Record<string, number> {
    return Object.fromEntries(this.refusalCounts)
  }

  /** Counts a refusal of this holder's other protocols (chain/1) with the block refusals. */
  countRefusal (code: string): void {
    this.refusalCounts.set(code, (this.refusalCounts.get(code) ?? 0) + 1)
  }

  /** Bytes held for owners other than this node. */
  heldForOthersBytes (): number {
    let total = 0
    for (const [owner, bytes] of Object.entries(this.options.store.usage())) if (owner !== this.selfId) total += bytes
    return total
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const frames = new FrameStream(stream, { maxFrameBytes: MAX_BLOB_BYTES, readAheadBytes: READ_AHEAD_BYTES })
    const remote = connection.remotePeer.toString()
    let reservation: ByteReservation | undefined
    // However the stream ends (answered, reset, timed out), its share of the budget comes back, and
    // the work for it stops: nobody is left to read the answer.
    const gone = new AbortController()
    stream.addEventListener('close', () => { reservation?.release(); gone.abort(new Error('the stream closed')) }, { once: true })
    const live = AbortSignal.any([gone.signal, this.stopping.signal])
    this.active++
    try {
      const incoming = await this.readRequest(frames, remote, AbortSignal.any([timeoutSignal(this.requestTimeoutMs), live]), (r) => { reservation = r })
      if (incoming == null) {
        await frames.close()
        return
      }
      await this.answerOrRefuse(incoming, frames, remote, live)
    } finally {
      this.active--
      reservation?.release()
    }
  }

  private async answerOrRefuse (incoming: Incoming, frames: FrameStream, remote: string, live: AbortSignal): Promise<void> {
    const { request } = incoming
    // Stream-level failures (bad frames, resets, timeouts) propagate and abort the stream; only
    // answers about the request itself travel back as error frames.
    try {
      if (incoming.refusal !== undefined) throw incoming.refusal
      await this.answer(incoming, frames, remote, live)
    } catch (err) {
      if (!isReplyable(err)) throw err
      // Our own failures are worth an operator's attention; refusals of the peer's request are not.
      const ours = err.code === 'INTERNAL' || err.code === 'DISK_FULL'
      this.countRefusal(err.code)
      this.log[ours ? 'warn' : 'debug']({ op: request.op, peer: shortId(remote), code: err.code, err: err.message }, 'block request failed')
      await frames.writeJson(toErrorReply(err), { signal: timeoutSignal(this.requestTimeoutMs) })
    }
    await frames.close({ signal: timeoutSignal(this.requestTimeoutMs) })
  }

  private async readRequest (frames: FrameStream, remote: string, signal: AbortSignal, reserved: (r: ByteReservation) => void): Promise<Incoming | null> {
    // Refused from its length (TOO_LARGE) when over a JSON frame: never buffered as a blob would be.
    const bytes = await frames.readFrame({ signal, maxBytes: MAX_JSON_FRAME_BYTES })
    if (bytes == null) return null
    const request = frames.decodeJson(blockRequestSchema, bytes)
    if (request.op === 'put') {
      // The body's memory is reserved before a byte of it is buffered. Past the peer's share or the
      // total, the body is skipped as it arrives (the stream stays in step) and the PUT refused.
      const reservation = this.inboundBudget.tryReserve(remote, request.size)
      if (reservation === undefined) {
        const skipped = await frames.skipFrame({ signal })
        checkBodySize(frames, request.size, skipped)
        return { request, refusal: new VaultError('BUSY', `holder is busy: PUT bodies in memory are at their limit (${this.inboundBudget.perPeerBytes} bytes per peer, ${this.inboundBudget.totalBytes} in all); try another holder or later`) }
      }
      reserved(reservation)
      // The body as the pieces it arrived in (as a chained copy, chain-server.ts): hashed, then
      // written with writev, never assembled into one buffer nor moved to a worker and back.
      // Held to the size reserved: a longer body frame is refused from its length, never buffered.
      const body = await frames.readFramePieces({ signal, maxBytes: request.size })
      checkBodySize(frames, request.size, body === null ? null : byteLength(body))
      return { request, body: compactPieces(body!), reservation }
    }
    return { request }
  }

  private async answer ({ request, body }: Incoming, frames: FrameStream, remote: string, live: AbortSignal): Promise<void> {
    const signal = AbortSignal.any([timeoutSignal(this.requestTimeoutMs), live])
    switch (request.op) {
      case 'put': return await this.put(request, body ?? [], frames, remote, signal)
      case 'get': return await this.get(request, frames, signal)
      case 'delete': return await this.delete(request, frames, remote, signal)
      case 'has': return await this.has(request, frames, signal)
      case 'list': return await this.list(request, frames, remote)
      case 'prove': return await this.prove(request, frames, remote, signal)
      case 'lost': return await this.lost(request, frames, remote, signal)
    }
  }

  private assertOwner (owner: string, remote: string, what: string): void {
    if (owner !== remote) throw new VaultError('FORBIDDEN', `only the owner may ${what} its folder`)
  }

  private async put (request: Request<'put'>, body: readonly Uint8Array[], frames: FrameStream, remote: string, signal: AbortSignal): Promise<void> {
    const { owner, id } = request
    this.assertOwner(owner, remote, 'write into')
    // storeBlob checks SHA-256 == id before a byte is written; the blob is fsynced before we ack.
    await this.storeBlob(owner, id, body)
    await frames.writeJson({ ok: true }, { signal })
  }

  /**
   * Stores a blob of `owner` durably within the caps (STORAGE_FULL past them). The caller has
   * checked the authority: the owner's own PUT, or its grant for a chained copy (chain-server.ts).
   * `trusted`: the caller verified the hash already (SHA-256 == id), so it is not checked again;
   * `consume`: `body` may move to a worker. A body given as the pieces it arrived in is written
   * with writev.
   */
  async storeBlob (owner: string, id: string, body: Uint8Array | readonly Uint8Array[], how: { trusted?: boolean, consume?: boolean } = {}): Promise<void> {
    const { store } = this.options
    // A body in pieces is checked here (SHA-256 == id, piece by piece, about a millisecond per MiB)
    // before a byte is written; a whole buffer is checked by store.put.
    if (!(body instanceof Uint8Array) && how.trusted !== true && sha256HexOfPieces(body) !== id) throw new VaultError('CORRUPT', 'blob does not match its ID')
    const size = byteLength(body)
    // A blob already here takes no new room; store.put still rewrites it if our copy went bad,
    // so the owner's repair heals a holder by sending the chunk again.
    const present = await store.has(owner, id)
    if (!present) this.reserveRoom(owner, size)
    try {
      if (body instanceof Uint8Array) await store.put(owner, id, body, how.trusted === true, how.consume === true)
      else await store.putPieces(owner, id, body)
    } finally {
      if (!present) this.releaseRoom(owner, size)
    }
    if (!present) {
      this.options.onStored?.(owner, id, size)
      this.log.debug({ owner: shortId(owner), id: id.slice(0, 12), size }, 'stored blob for owner')
    }
  }

  /** Holds `size` bytes of disk for `owner` until its PUT ends, or refuses with STORAGE_FULL. */
  private reserveRoom (owner: string, size: number): void {
    const { maxStorageBytes, maxPerOwnerBytes } = this.options
    if (maxStorageBytes !== undefined && this.heldForOthersBytes() + this.reservedBytes + size > maxStorageBytes) {
      throw new VaultError('STORAGE_FULL', `holder is full (cap ${maxStorageBytes} bytes for other owners)`)
    }
    const ownerReserved = this.reservedByOwner.get(owner) ?? 0
    if (maxPerOwnerBytes !== undefined && (this.options.store.usage()[owner] ?? 0) + ownerReserved + size > maxPerOwnerBytes) {
      throw new VaultError('STORAGE_FULL', `holder is full for this owner (quota ${maxPerOwnerBytes} bytes per owner)`)
    }
    this.reservedBytes += size
    this.reservedByOwner.set(owner, ownerReserved + size)
  }

  private releaseRoom (owner: string, size: number): void {
    this.reservedBytes -= size
    const left = (this.reservedByOwner.get(owner) ?? size) - size
    if (left <= 0) this.reservedByOwner.delete(owner)
    else this.reservedByOwner.set(owner, left)
  }

  private async get (request: Request<'get'>, frames: FrameStream, signal: AbortSignal): Promise<void> {
    // A hung disk costs this stream until the request's deadline, not the handler for ever.
    const data = await settleBy(this.options.store.get(request.owner, request.id), signal).catch((err: unknown) => {
      // Never serve bad bytes; the owner's repair or our scrub replaces the copy.
      if (err instanceof VaultError && err.code === 'CORRUPT') this.log.warn({ owner: shortId(request.owner), id: request.id }, 'held blob is corrupt on disk')
      throw err
    })
    const fault = this.options.serveFault
    if (fault?.delayMs !== undefined) await delay(fault.delayMs, undefined, { signal })
    if (fault?.corrupt === true) data[data.byteLength >> 1] ^= 0x55
    this.servedBlobs++
    await frames.writeJson({ ok: true, size: data.byteLength }, { signal })
    await frames.writeFrame(data, { signal })
  }

  private async delete (request: Request<'delete'>, frames: FrameStream, remote: string, signal: AbortSignal): Promise<void> {
    this.assertOwner(request.owner, remote, 'delete from')
    let deleted = 0
    for (const id of request.ids) {
      if (await this.options.store.delete(request.owner, id)) {
        deleted++
        this.options.onDeleted?.(request.owner, id)
      }
    }
    await frames.writeJson({ ok: true, deleted }, { signal })
  }

  private async has (request: Request<'has'>, frames: FrameStream, signal: AbortSignal): Promise<void> {
    const held = await Promise.all(request.ids.map(async id => await this.options.store.has(request.owner, id)))
    await frames.writeJson({ ok: true, held: encodeBitmap(held) }, { signal })
  }

  /** Streams the owner's IDs in pages, in ascending order; the reader's pace sets ours (back-pressure). */
  private async list (request: Request<'list'>, frames: FrameStream, remote: string): Promise<void> {
    this.assertOwner(request.owner, remote, 'list')
    let page: string[] = []
    for await (const id of this.options.store.list(request.owner)) {
      if (request.after !== undefined && id <= request.after) continue
      page.push(id)
      if (page.length === LIST_PAGE_IDS) {
        await frames.writeJson({ ok: true, ids: page, done: false }, { signal: timeoutSignal(this.requestTimeoutMs) })
        page = []
      }
    }
    await frames.writeJson({ ok: true, ids: page, done: true }, { signal: timeoutSignal(this.requestTimeoutMs) })
  }

  /**
   * An owner's audit: a proof per blob from the bytes on disk now. One blob in memory at a time, at
   * most MAX_PROVE_IDS per request. Bytes are not checked first: a damaged copy gives a wrong proof.
   */
  private async prove (request: Request<'prove'>, frames: FrameStream, remote: string, signal: AbortSignal): Promise<void> {
    this.assertOwner(request.owner, remote, 'audit')
    const proofs: Array<string | null> = []
    for (const id of request.ids) {
      signal.throwIfAborted()
      const data = await settleBy(this.options.store.getUnverified(request.owner, id), signal)
      proofs.push(data === undefined ? null : proofOf(request.nonce, data))
    }
    await frames.writeJson({ ok: true, proofs }, { signal })
  }

  /** A holder tells us (the owner) that it lost copies of our blobs; only its own records are dropped. */
  private async lost (request: Request<'lost'>, frames: FrameStream, remote: string, signal: AbortSignal): Promise<void> {
    if (request.owner !== this.selfId) throw new VaultError('FORBIDDEN', 'lost copies are reported to their owner only')
    const dropped = this.options.onLost?.(remote, request.ids) ?? 0
    await frames.writeJson({ ok: true, dropped }, { signal })
  }
}

/** A body must be exactly the size its request announced; anything else breaks the stream. */
export function checkBodySize (frames: FrameStream, announced: number, received: number | null | undefined): void {
  if (received === announced) return
  const err = new VaultError('BAD_FRAME', `request announced a body of ${announced} bytes, sent ${received ?? 0}`)
  frames.abort(err)
  throw err
}
