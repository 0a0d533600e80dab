// The holder's side of /distri-vault/chain/1: takes a blob an owner (or an earlier holder of its
// chain) hands on under the owner's signed grant, stores it durably in the owner's folder and hands
// it on to the next holder of the grant, then answers with its own signed receipt and whatever the
// rest of the chain answered. A forged, expired or replayed grant is refused and counted; nothing
// is stored or forwarded for it.
import type { Connection, Libp2p, PrivateKey, Stream } from '@libp2p/interface'
import type { Logger } from 'pino'
import { VaultError } from '../errors.ts'
import { sha256HexOfPieces } from '../crypto/index.ts'
import { byteLength } from '../buffers/index.ts'
import { compactPieces, FrameStream, handleProtocol, timeoutSignal, type ByteReservation } from '../protocols/index.ts'
import { checkBodySize, type BlockServer } from './block-server.ts'
import { isReplyable, MAX_BLOB_BYTES, MAX_JSON_FRAME_BYTES, shortId, toErrorReply } from './block-protocol.ts'
import type { ChainAnswer, ChainClient } from './chain-client.ts'
import { checkGrant, ReplayCache, signReceipt } from './chain-grant.ts'
import { CHAIN_PROTOCOL, chainRequestSchema, MIN_HOP_BUDGET_MS, passOnBudget, type ChainRequest } from './chain-protocol.ts'

export interface ChainServerOptions {
  libp2p: Libp2p
  /** Stores the blob within the holder's caps and counts refusals with the block protocol's. */
  holder: Pick<BlockServer, 'storeBlob' | 'countRefusal' | 'inboundBudget'>
  /** This node's key: it signs the receipts. */
  privateKey: PrivateKey
  client: ChainClient
  log: Logger
  /** Time to receive a request's frames (its budget bounds the rest). */
  requestTimeoutMs?: number
  maxInboundStreams?: number
  replays?: ReplayCache
  now?: () => number
}

/** Before a grant is checked and its body's memory reserved, a stream buffers at most this much. */
const READ_AHEAD_BYTES = 64 * 1024

export class ChainServer {
  private readonly o: ChainServerOptions
  private readonly log: Logger
  private readonly selfId: string
  private readonly replays: ReplayCache
  private readonly now: () => number
  private started = false
  private readonly counts = { stored: 0, forwarded: 0 }

  constructor (options: ChainServerOptions) {
    this.o = options
    this.log = options.log.child({ sub: 'chain-server' })
    this.selfId = options.libp2p.peerId.toString()
    this.replays = options.replays ?? new ReplayCache()
    this.now = options.now ?? Date.now
  }

  async start (): Promise<void> {
    if (this.started) return
    await handleProtocol(this.o.libp2p, CHAIN_PROTOCOL, async (stream, connection) => await this.serve(stream, connection), {
      log: this.log,
      maxInboundStreams: this.o.maxInboundStreams ?? 16,
      maxOutboundStreams: 64,
      onError: (code) => { if (code === 'BAD_FRAME' || code === 'TOO_LARGE') this.o.holder.countRefusal(code) }
    })
    this.started = true
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    await this.o.libp2p.unhandle(CHAIN_PROTOCOL).catch(() => {})
  }

  /** Chained copies this holder stored, and handed on to the next holder, since start. */
  stats (): { stored: number, forwarded: number } {
    return { ...this.counts }
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const frames = new FrameStream(stream, { maxFrameBytes: MAX_BLOB_BYTES, readAheadBytes: READ_AHEAD_BYTES })
    const remote = connection.remotePeer.toString()
    let reservation: ByteReservation | undefined
    stream.addEventListener('close', () => reservation?.release(), { once: true })
    try {
      const signal = timeoutSignal(this.o.requestTimeoutMs ?? 60_000)
      // Refused from its length (TOO_LARGE) when over a JSON frame: never buffered as a blob would be.
      const header = await frames.readFrame({ signal, maxBytes: MAX_JSON_FRAME_BYTES })
      if (header == null) return await frames.close()
      const request = frames.decodeJson(chainRequestSchema, header)
      const deadlineAt = this.now() + request.budgetMs
      try {
        await this.admit(request, remote)
        reservation = this.o.holder.inboundBudget.tryReserve(remote, request.grant.size)
        if (reservation === undefined) throw new VaultError('BUSY', 'holder is busy: bodies in memory are at their limit; try another holder or later')
      } catch (err) {
        checkBodySize(frames, request.grant.size, await frames.skipFrame({ signal }))
        return await this.refuse(err, request, frames, remote)
      }
      // The body as the pieces it arrived in: hashed, written (writev) and sent on as they are,
      // never assembled into one 1 MiB buffer.
      // Held to the size reserved: a longer body frame is refused from its length, never buffered.
      const body = await frames.readFramePieces({ signal, maxBytes: request.grant.size })
      checkBodySize(frames, request.grant.size, body === null ? null : byteLength(body))
      let answer: ChainAnswer
      try {
        answer = await this.keepAndHandOn(request, compactPieces(body!), deadlineAt)
      } catch (err) {
        return await this.refuse(err, request, frames, remote)
      }
      await frames.writeJson({ ok: true, ...answer }, { signal: timeoutSignal(this.o.requestTimeoutMs ?? 60_000) })
      await frames.close({ signal: timeoutSignal(this.o.requestTimeoutMs ?? 60_000) })
    } finally {
      reservation?.release()
    }
  }

  /** The grant must name this holder, come from upstream of it, be the owner's, fresh and unused. */
  private async admit (request: ChainRequest, remote: string): Promise<void> {
    const now = this.now()
    await checkGrant(request, this.selfId, remote, now)
    this.replays.admit(request.grant, now)
  }

  private async refuse (err: unknown, request: ChainRequest, frames: FrameStream, remote: string): Promise<void> {
    if (!isReplyable(err)) throw err
    this.o.holder.countRefusal(err.code)
    const loud = err.code.startsWith('GRANT_') || err.code === 'INTERNAL' || err.code === 'DISK_FULL'
    this.log[loud ? 'warn' : 'debug']({ peer: shortId(remote), owner: shortId(request.grant.owner), code: err.code, err: err.message }, 'chained copy refused')
    const signal = timeoutSignal(this.o.requestTimeoutMs ?? 60_000)
    await frames.writeJson(toErrorReply(err), { signal })
    await frames.close({ signal })
  }

  /**
   * Checks the bytes (a blob that is not its ID goes no further: CORRUPT), then stores them and
   * hands them to the next holder at the same time. Each holder's receipt is signed only once its
   * own copy is fsynced; this one's store failing (full, say) does not stop the chain.
   */
  private async keepAndHandOn (request: ChainRequest, body: readonly Uint8Array[], deadlineAt: number): Promise<ChainAnswer> {
    const { grant, hop } = request
    // Hashed here, piece by piece (about a millisecond per MiB): handing the pieces to a worker
    // would need them joined into one buffer first, the copy this path exists to avoid.
    if (sha256HexOfPieces(body) !== grant.id) throw new VaultError('CORRUPT', 'the chained blob does not match its ID')
    const last = hop === grant.holders.length - 1
    const [own, rest] = await Promise.all([
      this.keep(request, body),
      last ? { receipts: [], failures: [] } : this.handOn(request, body, deadlineAt)
    ])
    return { receipts: [...own.receipts, ...rest.receipts], failures: [...own.failures, ...rest.failures] }
  }

  private async keep ({ grant }: ChainRequest, body: readonly Uint8Array[]): Promise<ChainAnswer> {
    try {
      // Verified above; written with writev straight from the received pieces.
      await this.o.holder.storeBlob(grant.owner, grant.id, body, { trusted: true })
      this.counts.stored++
      return { receipts: [{ holder: this.selfId, sig: await signReceipt(this.o.privateKey, grant, this.selfId) }], failures: [] }
    } catch (err) {
      const code = err instanceof VaultError ? err.code : 'INTERNAL'
      this.o.holder.countRefusal(code)
      this.log.debug({ owner: shortId(grant.owner), id: grant.id.slice(0, 12), code, err: (err as Error).message }, 'could not keep a chained copy; handing it on anyway')
      return { receipts: [], failures: [{ holder: this.selfId, code }] }
    }
  }

  /**
   * Hands the blob to the next holder of the chain; one that cannot be reached or refuses is
   * skipped for the one after it (the grant lets any earlier holder hand on). Leaves a tenth of the
   * remaining time (≥ 250 ms) to answer upstream before its own deadline, and gives the next hop a
   * fifth less than it waits (passOnBudget).
   */
  private async handOn (request: ChainRequest, data: readonly Uint8Array[], deadlineAt: number): Promise<ChainAnswer> {
    const { grant } = request
    const failures: ChainAnswer['failures'] = []
    for (let hop = request.hop + 1; hop < grant.holders.length; hop++) {
      const peer = grant.holders[hop]
      // Wait for the next hop only as long as leaves time to answer upstream before our deadline.
      const left = deadlineAt - this.now()
      const waitMs = Math.floor(left - Math.max(250, left / 10))
      const budgetMs = passOnBudget(waitMs)
      // Out of time: the holders left are not reached (not failed), so the owner asks them first.
      if (budgetMs < MIN_HOP_BUDGET_MS) break
      try {
        const answer = await this.o.client.send(peer, { ...request, hop, budgetMs }, data, waitMs)
        this.counts.forwarded++
        // Only what the rest of the chain may speak for, once each: the owner verifies the receipts.
        const downstream = new Set(grant.holders.slice(hop))
        const receipts = answer.receipts.filter(r => downstream.delete(r.holder))
        return { receipts, failures: [...failures, ...answer.failures.filter(f => downstream.delete(f.holder))] }
      } catch (err) {
        const code = err instanceof VaultError ? err.code : 'PEER_ERROR'
        this.log.debug({ peer: shortId(peer), code, err: (err as Error).message }, 'next holder of the chain failed; skipping it')
        failures.push({ holder: peer, code })
      }
    }
    return { receipts: [], failures }
  }
}
