// The block transfers of this node: pushes each of its own sealed blobs to the peers the routing
// ranks first for it (moving down the order past peers that refuse, fail or time out), fetches any
// owner's blobs from their holders (its own for get and repair, others' for a get by capability),
// and tells holders about deletions. It knows no catalog: callers record who holds what.
import type { Logger } from 'pino'
import { VaultError } from '../errors.ts'
import type { BlobShortfall, RemoteBlobs } from '../files/index.ts'
import type { BlobStore } from '../store/index.ts'
import type { BlockClient } from './block-client.ts'
import { shortId } from './block-protocol.ts'
import { Swarm, type HolderStat } from './swarm.ts'
import type { ChainPlacement, ChainSender } from './chain-put.ts'
import { Limiter } from '../concurrency/index.ts'
import { blobKey, nodeIdsOf, type Routing } from '../net/index.ts'
import { isReplicaTarget, replication, REPLICAS_RULE, type ReplicaTarget } from '../redundancy/index.ts'

/** Downloads at once: enough for several holders to each have a few blobs on the way (≤ 12 × 4 MiB held). */
const DOWNLOADS_IN_FLIGHT = 12

export interface ReplicatorOptions {
  client: BlockClient
  store: BlobStore
  /** This node's ID: the owner of what it replicates and deletes (fetch serves any owner). */
  ownerId: string
  /** Which peers to ask (this node may be among them; it is skipped). */
  routing: Routing
  log: Logger
  /** Uploads running at once, across all callers. */
  inFlight?: number
  /** Downloads running at once, across all callers and holders (a hedge, at most one per blob, comes on top). */
  downloadsInFlight?: number
  /** Holders asked at once for one blob when the first is slow or fails. */
  fetchFanOut?: number
  /** A fetch asks another holder too when one with no speed estimate yet gave no answer within this long. */
  hedgeAfterMs?: number
  /** A holder that said STORAGE_FULL is tried last for this long. */
  fullHolderBackoffMs?: number
  /** A holder served bytes that fail their hash, or said its copy is corrupt: it does not have the blob. */
  onWrongBytes?: (peer: string, owner: string, id: string) => void
  /** Chained replication (chain/1): two or more new copies go to the first holder once, which hands
   * them on. Without it (or for peers that do not speak chain/1) the owner sends every copy. */
  chain?: ChainSender
}

export interface ReplicateOptions {
  /** Peers already known to hold the chunk: they count toward the target and get no new copy. */
  existing?: string[]
  /**
   * Reachable peers that get a copy too, on top of the target (a journal record goes where its
   * file's manifest is: whoever has the manifest then has the record, docs/DECISIONS.md).
   */
  alongside?: string[]
  signal?: AbortSignal
}

export interface ReplicateResult {
  /** Peers holding a copy after this call (`existing` first, then new copies in placement order). */
  holders: string[]
  /** Set when fewer than wanted: the peers that refused (with their code) and the copies no peer was left for. */
  shortfall?: BlobShortfall
}

export interface RemoveResult {
  /** Peers that acknowledged the deletion. */
  told: string[]
  /** Peers that could not be told now (offline, timed out); the caller retries later. */
  failed: string[]
}

export class Replicator implements RemoteBlobs {
  private readonly options: ReplicatorOptions
  private readonly log: Logger
  private readonly uploads: Limiter
  private readonly downloads: Limiter
  private readonly swarm: Swarm
  private readonly fullUntil = new Map<string, number>()

  constructor (options: ReplicatorOptions) {
    this.options = options
    this.log = options.log.child({ sub: 'replication' })
    this.uploads = new Limiter(options.inFlight ?? 4)
    this.downloads = new Limiter(options.downloadsInFlight ?? DOWNLOADS_IN_FLIGHT)
    this.swarm = new Swarm({
      get: async (peer, owner, id, signal) => await options.client.getBlob(peer, owner, id, signal),
      slots: this.downloads,
      width: options.fetchFanOut ?? 2,
      hedgeAfterMs: options.hedgeAfterMs ?? 1000,
      onWrongBytes: options.onWrongBytes
    })
  }

  /** What this node has seen of each holder it fetched from: blobs served, speed, demotion. */
  holderStats (): HolderStat[] {
    return this.swarm.stats()
  }

  /** The peers ranked for a blob, best first, this node left out. */
  private async rankedFor (id: string, signal?: AbortSignal): Promise<string[]> {
    const { routing, ownerId } = this.options
    const ranked = nodeIdsOf(await routing.closestPeers(blobKey(id), routing.allPeers().length + 1, { signal }))
    return [...new Set(ranked)].filter(peer => peer !== ownerId)
  }

  /**
   * Places copies of one sealed chunk so that `replicas` copies exist in all, the owner's counted
   * ('all': one on every live peer). Resolves when every new copy is acknowledged as durable, with
   * fewer holders than wanted only when the peers ran out; it never throws for a failed peer.
   */
  async replicate (chunkId: string, bytes: Uint8Array, replicas: ReplicaTarget, options: ReplicateOptions = {}): Promise<ReplicateResult> {
    if (!isReplicaTarget(replicas)) throw new VaultError('BAD_INPUT', `replicas must be ${REPLICAS_RULE}, got ${String(replicas)}`)
    const known = [...new Set(options.existing ?? [])].filter(peer => peer !== this.options.ownerId)
    const ranked = this.placementOrder((await this.rankedFor(chunkId, options.signal)).filter(peer => !known.includes(peer)))
    const want = replication.holdersWanted(replicas, known.length + ranked.length)
    // Copies a chain made durable count like existing ones; the rest go the direct way below,
    // down the same order (so a chain's failed holder is asked again directly first).
    const { durable: chained, failed } = await this.chainCopies(chunkId, bytes, ranked.slice(0, Math.max(0, want - known.length)), options.signal)
    const existing = [...known, ...chained]
    // A holder that failed in the chain itself (full, busy, unreachable, timed out) is asked last;
    // one the chain never reached (PEER_ERROR: an upstream holder broke or lied) keeps its place.
    const demoted = new Set(failed.filter(f => f.code !== 'PEER_ERROR').map(f => f.holder))
    for (const f of failed) if (f.code === 'STORAGE_FULL') this.fullUntil.set(f.holder, Date.now() + (this.options.fullHolderBackoffMs ?? 60_000))
    const rest = ranked.filter(peer => !chained.includes(peer))
    const candidates = [...rest.filter(peer => !demoted.has(peer)), ...rest.filter(peer => demoted.has(peer))]
    const placed = new Set<string>()
    const refused: BlobShortfall['refused'] = []
    let next = 0
    // Each worker keeps one copy's promise: it moves down the order until a peer acknowledges.
    const worker = async (): Promise<void> => {
      while (next < candidates.length) {
        options.signal?.throwIfAborted()
        const peer = candidates[next++]
        const code = await this.pushCopy(peer, chunkId, bytes, options.signal)
        if (code === undefined) {
          placed.add(peer)
          return
        }
        refused.push({ peer, code })
      }
    }
    const workers = Math.min(Math.max(0, want - existing.length), candidates.length)
    await Promise.all(Array.from({ length: workers }, worker))
    const holders = [...existing, ...candidates.filter(peer => placed.has(peer))]
    holders.push(...await this.copyAlongside(chunkId, bytes, (options.alongside ?? []).filter(peer => !holders.includes(peer)), options.signal))
    if (holders.length >= want) return { holders }
    // Per chunk, so debug: the caller reports under-replication once per file, with these reasons.
    const missing = want - holders.length
    this.log.debug({ chunk: chunkId.slice(0, 12), holders: holders.length, want, refused: refused.length }, 'chunk is under-replicated: not enough peers accepted a copy')
    return { holders, shortfall: { refused, noPeers: Math.max(0, missing - refused.length) } }
  }

  /** The copies a chain made durable on `targets` (two or more that speak chain/1), else none. */
  private async chainCopies (chunkId: string, bytes: Uint8Array, targets: string[], signal?: AbortSignal): Promise<ChainPlacement> {
    const chain = this.options.chain
    if (chain === undefined || targets.length < 2) return { durable: [], failed: [] }
    const holders = await chain.chainable(targets)
    if (holders.length < 2) return { durable: [], failed: [] }
    return await this.uploads.run(async () => await chain.place(chunkId, bytes, holders, signal), signal)
  }

  /** The peers of `peers` (the reachable ones) that acknowledged a copy, best effort. */
  private async copyAlongside (chunkId: string, bytes: Uint8Array, peers: string[], signal?: AbortSignal): Promise<string[]> {
    const reachable = new Set(nodeIdsOf(this.options.routing.allPeers()))
    const targets = [...new Set(peers)].filter(peer => peer !== this.options.ownerId && reachable.has(peer))
    const codes = await Promise.all(targets.map(async peer => await this.pushCopy(peer, chunkId, bytes, signal)))
    return targets.filter((_, i) => codes[i] === undefined)
  }

  /** Like `replicate`, reading the chunk from this owner's folder: for repair after peers change. */
  async replicateStored (chunkId: string, replicas: ReplicaTarget, options: ReplicateOptions = {}): Promise<ReplicateResult> {
    const bytes = await this.options.store.get(this.options.ownerId, chunkId)
    return await this.replicate(chunkId, bytes, replicas, options)
  }

  /** The routing's order, except that holders that recently said they are full go last. */
  private placementOrder (ordered: string[]): string[] {
    const now = Date.now()
    for (const [peer, until] of this.fullUntil) if (until <= now) this.fullUntil.delete(peer)
    const full = (peer: string): boolean => this.fullUntil.has(peer)
    return [...ordered.filter(peer => !full(peer)), ...ordered.filter(full)]
  }

  /** Undefined when the peer acknowledged a durable copy, else the code of its refusal or failure. */
  private async pushCopy (peer: string, chunkId: string, bytes: Uint8Array, signal?: AbortSignal): Promise<string | undefined> {
    try {
      await this.uploads.run(async () => { await this.options.client.putBlob(peer, this.options.ownerId, chunkId, bytes, signal) }, signal)
      return undefined
    } catch (err) {
      if (signal?.aborted === true) throw signal.reason
      const code = err instanceof VaultError ? err.code : 'PEER_ERROR'
      // The holder hashed our bytes and they are not `chunkId`: every other peer would say the same.
      if (code === 'CORRUPT') throw new VaultError('CORRUPT', `chunk ${chunkId.slice(0, 12)}… does not match its ID; nothing was replicated`, { cause: err })
      if (code === 'STORAGE_FULL') this.fullUntil.set(peer, Date.now() + (this.options.fullHolderBackoffMs ?? 60_000))
      this.log.debug({ peer: shortId(peer), chunk: chunkId.slice(0, 12), code, err: (err as Error).message }, 'peer did not take a copy; trying the next')
      return code
    }
  }

  /**
   * Fetches a blob of `owner` from the network, verified. The candidates are the owner when it is
   * live (it keeps every blob of its own), then the peers in the routing's order; the swarm asks the
   * one expected to deliver first (that order breaks ties), hedges a late one, moves on from a failed one.
   */
  async fetch (owner: string, id: string, signal?: AbortSignal): Promise<Buffer> {
    const reachable = nodeIdsOf(this.options.routing.allPeers())
    const order = [...(reachable.includes(owner) ? [owner] : []), ...(await this.rankedFor(id, signal)).filter(peer => peer !== owner)]
    return await this.swarm.fetch(owner, id, order, signal)
  }

  /** Fetches a blob of `owner` from peers known to hold it (recover's listing), verified, the same way. */
  async fetchFrom (owner: string, id: string, holders: string[], signal?: AbortSignal): Promise<Buffer> {
    return await this.swarm.fetch(owner, id, holders.filter(peer => peer !== this.options.ownerId), signal)
  }

  /**
   * Tells holders to delete these blobs of this owner. `holders` defaults to every peer that may
   * hold this owner's blobs, which also reaches peers that got a copy the caller never heard of.
   */
  async remove (ids: string[], holders?: string[], signal?: AbortSignal): Promise<RemoveResult> {
    const told: string[] = []
    const failed: string[] = []
    if (ids.length === 0) return { told, failed }
    holders ??= nodeIdsOf(await this.options.routing.holdersOf(this.options.ownerId, { signal }))
    await Promise.all([...new Set(holders)].filter(peer => peer !== this.options.ownerId).map(async peer => {
      try {
        await this.uploads.run(async () => await this.options.client.deleteBlobs(peer, this.options.ownerId, ids, signal), signal)
        told.push(peer)
      } catch (err) {
        if (signal?.aborted === true) throw signal.reason
        this.log.debug({ peer: shortId(peer), err: (err as Error).message }, 'could not tell a holder to delete')
        failed.push(peer)
      }
    }))
    return { told, failed }
  }
}
