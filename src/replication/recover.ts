// `recover`: an owner whose disk died (same phrase, same node ID) asks every peer which of its blobs
// they keep in storage/<owner id>/, pulls back those it lacks (each one hash-verified before it is
// written), and records who holds what. The caller then rebuilds the catalog from the manifests.
import type { Logger } from 'pino'
import type { HolderIndex } from '../catalog/index.ts'
import type { BlobStore } from '../store/index.ts'
import type { BlockClient } from './block-client.ts'
import { Limiter } from '../concurrency/index.ts'
import { shortId } from './block-protocol.ts'
import { FetchFailure } from './swarm.ts'

export interface RecoverProgress {
  phase: 'listing' | 'fetching' | 'done'
  peers: number
  /** Distinct blobs of this owner found on peers. */
  found: number
  /** Blobs pulled back so far, and their bytes. */
  fetched: number
  bytes: number
  /** Blobs found but not fetched: a holder that listed one could not be asked (away, timed out). */
  failed: number
  /**
   * Blobs every peer that listed them then denied: it said it lacks them or served other bytes.
   * Not held (a lie, or a copy gone bad); they do not make the recover partial, since a peer can
   * always withhold a blob by not listing it, and those peers are not recorded as their holders.
   */
  denied: number
}

export interface RecoverOptions {
  /** Lists what each peer holds for this owner. */
  client: BlockClient
  /** Fetches one blob from the peers known to hold it, verified (the Replicator's swarm: spread over them, hedged). */
  fetch: (id: string, holders: string[], signal?: AbortSignal) => Promise<Buffer>
  store: BlobStore
  holders: HolderIndex
  ownerId: string
  peers: string[]
  log: Logger
  onProgress?: (progress: RecoverProgress) => void
  signal?: AbortSignal
  /** Blobs fetched at once (the swarm spreads them over the holders). */
  concurrency?: number
}

/** The summary, and how many peers could not list their folder (then the history may be partial). */
export type RecoverResult = RecoverProgress & { unlisted: number }

export async function recoverBlobs (o: RecoverOptions): Promise<RecoverResult> {
  const progress: RecoverProgress = { phase: 'listing', peers: o.peers.length, found: 0, fetched: 0, bytes: 0, failed: 0, denied: 0 }
  let unlisted = 0
  const holdersOf = new Map<string, string[]>()
  await Promise.all(o.peers.map(async peer => {
    try {
      for await (const id of o.client.listBlobs(peer, o.ownerId, o.signal)) {
        const holders = holdersOf.get(id)
        if (holders === undefined) holdersOf.set(id, [peer])
        else holders.push(peer)
      }
    } catch (err) {
      unlisted++
      o.log.warn({ peer, err: (err as Error).message }, 'could not list what this peer holds for us; recovering from the others')
    }
  }))
  progress.found = holdersOf.size
  progress.phase = 'fetching'
  o.onProgress?.({ ...progress })
  const limiter = new Limiter(o.concurrency ?? 12)
  await Promise.all([...holdersOf].map(async ([id, holders]) => await limiter.run(async () => {
    if (await o.store.has(o.ownerId, id)) {
      o.holders.add(id, holders)
      return
    }
    try {
      const bytes = await o.fetch(id, holders, o.signal)
      await o.store.put(o.ownerId, id, bytes)
      o.holders.add(id, holders)
      progress.fetched++
      progress.bytes += bytes.length
      o.onProgress?.({ ...progress })
    } catch (err) {
      if (o.signal?.aborted === true) throw err
      if (err instanceof FetchFailure && err.deniedByAll(holders.length)) {
        o.log.warn({ holders: holders.map(shortId), id: id.slice(0, 12), err: err.message }, 'peers listed a blob of ours and then did not give it: not held')
        progress.denied++
        return
      }
      o.holders.add(id, holders)
      o.log.debug({ holders: holders.length, id: id.slice(0, 12), err: (err as Error).message }, 'no holder supplied this blob')
      progress.failed++
    }
  }, o.signal)))
  progress.phase = 'done'
  o.onProgress?.({ ...progress })
  return { ...progress, unlisted }
}
