// The holder sweep: holders never keep an owner's garbage forever. From time to time (and after
// `recover`) the owner LISTs its folder on each live peer and DELETEs the blobs it once deleted
// itself (tombstones, catalog/journal.ts) that nothing uses now: orphans of killed puts that no
// deletion message reached, copies on a holder that was hung or away when an rm ran. Blobs the owner
// has no tombstone for are kept: an owner on a new disk that has not run `recover` yet knows none of
// its history, and must not take it for garbage.
import type { Logger } from 'pino'
import type { Catalog } from '../catalog/index.ts'
import type { BlockClient } from './block-client.ts'
import type { Replicator } from './replicator.ts'
import { shortId } from './block-protocol.ts'
import { nodeIdsOf, type Routing } from '../net/index.ts'

export interface HolderSweepOptions {
  catalog: Catalog
  client: BlockClient
  replicator: Replicator
  ownerId: string
  /** Asked which peers may hold this owner's blobs. */
  routing: Routing
  log: Logger
  /** Tombstones older than this are forgotten (a holder away longer keeps that garbage). */
  tombstoneTtlMs?: number
}

export interface SweepResult { peers: number, deleted: number, skipped?: 'put in progress' | 'nothing buried' }

/** Garbage IDs deleted per peer per sweep: bounds the memory one sweep holds. */
const MAX_GARBAGE_PER_PEER = 50_000
const DEFAULT_TOMBSTONE_TTL_MS = 30 * 24 * 3600_000

export class HolderSweep {
  private readonly o: HolderSweepOptions
  private readonly log: Logger
  private running: Promise<SweepResult> | undefined

  constructor (options: HolderSweepOptions) {
    this.o = options
    this.log = options.log.child({ sub: 'sweep' })
  }

  /** One sweep over every live peer; a call during a sweep waits for that one. */
  async sweep (signal?: AbortSignal): Promise<SweepResult> {
    this.running ??= this.run(signal).finally(() => { this.running = undefined })
    return await this.running
  }

  async idle (): Promise<void> {
    await this.running?.catch(() => {})
  }

  private async run (signal?: AbortSignal): Promise<SweepResult> {
    const { catalog } = this.o
    catalog.journal.expireTombstones(Date.now() - (this.o.tombstoneTtlMs ?? DEFAULT_TOMBSTONE_TTL_MS))
    if (catalog.journal.countTombstones() === 0) return { peers: 0, deleted: 0, skipped: 'nothing buried' }
    const result: SweepResult = { peers: 0, deleted: 0 }
    for (const peer of new Set(nodeIdsOf(await this.o.routing.holdersOf(this.o.ownerId, { signal })))) {
      if (signal?.aborted === true) break
      // A put claims its blobs before they leave this node, so none of them can look like garbage;
      // waiting for quiet anyway keeps a deduplicated chunk coming back to life out of every race.
      if (catalog.countPending() > 0) return { ...result, skipped: 'put in progress' }
      try {
        result.deleted += await this.sweepPeer(peer, signal)
        result.peers++
      } catch (err) {
        this.log.debug({ peer: shortId(peer), err: (err as Error).message }, 'could not sweep this holder; next time')
      }
    }
    if (result.deleted > 0) this.log.info(result, 'holders dropped blobs this owner had deleted')
    return result
  }

  private async sweepPeer (peer: string, signal?: AbortSignal): Promise<number> {
    const { catalog } = this.o
    const garbage: string[] = []
    for await (const id of this.o.client.listBlobs(peer, this.o.ownerId, signal)) {
      if (catalog.journal.isBuried(id) && !catalog.isReferenced(id)) garbage.push(id)
      if (garbage.length >= MAX_GARBAGE_PER_PEER) break
    }
    const still = garbage.filter(id => !catalog.isReferenced(id))
    if (still.length === 0) return 0
    const { told } = await this.o.replicator.remove(still, [peer], signal)
    if (!told.includes(peer)) throw new Error('the holder did not acknowledge the deletion')
    catalog.holders.clearDeletes(peer, still)
    return still.length
  }
}
