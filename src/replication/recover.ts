// `recover`: an owner whose disk died (same phrase, same node ID) asks every peer which of its blobs
// they keep in storage/<owner id>/, pulls back those it lacks (each one hash-verified before it is
// written), and records who holds what. The caller then rebuilds the catalog from the manifests.
//
// A member may list anything, and serve it correctly (a blob's ID is only the hash of its bytes):
// so the listings go to the catalog (RecoverListing), not the heap, one peer may list at most
// `maxListed` IDs (beyond, its whole listing is refused and the recover is partial), and nothing is
// written that the owner cannot tell is its own. First pass: every listed blob is fetched and only
// the owner's history and manifests are kept (sealed under keys from the vault key: no peer can
// make one); the rest is only noted. Then the chunks those manifests name (and, once a folder's
// listing is here, its entries' chunks) are fetched again and kept. What no manifest names is
// never written: `unreferenced`, counted per peer that listed it.
import type { Logger } from 'pino'
import type { HolderIndex, ListedBlob, RecoverListing } from '../catalog/index.ts'
import type { OwnBlob } from '../files/index.ts'
import type { BlobStore } from '../store/index.ts'
import type { BlockClient } from './block-client.ts'
import { Limiter } from '../concurrency/index.ts'
import { shortId } from './block-protocol.ts'
import { FetchFailure } from './swarm.ts'

/** IDs one peer may list by default: 2 million blobs is some 2 TB of files, at about 1 MiB a chunk. */
export const MAX_LISTED_PER_PEER = 2_000_000
/** Listed IDs written to the catalog at once, and blobs read from it per page. */
const PAGE = 1000

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
  /** Peers whose listing was cut off: they listed more than a peer may (then the recover is partial). */
  refused: number
  /** Blobs peers listed and gave that are neither this owner's history nor named by its manifests: not kept. */
  unreferenced: number
}

export interface RecoverOptions {
  /** Lists what each peer holds for this owner. */
  client: BlockClient
  /** Fetches one blob from the peers known to hold it, verified (the Replicator's swarm: spread over them, hedged). */
  fetch: (id: string, holders: string[], signal?: AbortSignal) => Promise<Buffer>
  store: BlobStore
  holders: HolderIndex
  /** Where the listings and what the manifests want are kept during the run. */
  listing: RecoverListing
  /** This owner's journal blob or manifest (with the chunks it names), else null (Vault.recognise). */
  recognise: (id: string, bytes: Buffer) => OwnBlob | null
  /** The same for a blob already on this disk (Vault.recogniseStored): a manifest there still names chunks to fetch. */
  recogniseStored: (id: string) => Promise<OwnBlob | null>
  /** Every chunk a folder manifest on this disk names (Vault.treeChunksOf). */
  treeChunks: (id: string) => Promise<string[]>
  ownerId: string
  peers: string[]
  log: Logger
  onProgress?: (progress: RecoverProgress) => void
  signal?: AbortSignal
  /** Blobs fetched at once (the swarm spreads them over the holders). */
  concurrency?: number
  /** IDs one peer may list (MAX_LISTED_PER_PEER). */
  maxListed?: number
}

/** The summary, and how many peers could not list their folder (then the history may be partial). */
export type RecoverResult = RecoverProgress & { unlisted: number }

export async function recoverBlobs (o: RecoverOptions): Promise<RecoverResult> {
  const progress: RecoverProgress = { phase: 'listing', peers: o.peers.length, found: 0, fetched: 0, bytes: 0, failed: 0, denied: 0, refused: 0, unreferenced: 0 }
  const { listing } = o
  listing.clear()
  const unlisted = await listPeers(o, progress)
  progress.found = listing.found()
  progress.phase = 'fetching'
  o.onProgress?.({ ...progress })
  const limiter = new Limiter(o.concurrency ?? 12)

  const keep = async (id: string, holders: string[], bytes: Buffer): Promise<void> => {
    await o.store.put(o.ownerId, id, bytes)
    o.holders.add(id, holders)
    progress.fetched++
    progress.bytes += bytes.length
    o.onProgress?.({ ...progress })
  }
  const fetch = async ({ id, holders }: ListedBlob): Promise<Buffer | undefined> => {
    try {
      return await o.fetch(id, holders, o.signal)
    } catch (err) {
      if (o.signal?.aborted === true) throw err
      if (err instanceof FetchFailure && err.deniedByAll(holders.length)) {
        o.log.warn({ holders: holders.map(shortId), id: id.slice(0, 12), err: err.message }, 'peers listed a blob of ours and then did not give it: not held')
        progress.denied++
        return undefined
      }
      o.holders.add(id, holders)
      o.log.debug({ holders: holders.length, id: id.slice(0, 12), err: (err as Error).message }, 'no holder supplied this blob')
      progress.failed++
      return undefined
    }
  }
  const eachPage = async (read: (after: string) => ListedBlob[], work: (blob: ListedBlob) => Promise<void>): Promise<void> => {
    for (let page = read(''); page.length > 0; page = read(page[page.length - 1].id)) {
      await Promise.all(page.map(async blob => await limiter.run(async () => await work(blob), o.signal)))
    }
  }

  const wants = (id: string, own: OwnBlob | null): void => {
    if (own?.kind !== 'manifest') return
    listing.mark(own.chunks, 'wanted')
    if (own.tree) listing.mark([id], 'tree')
  }
  // The manifests already here (a recover run before or cut short, a put on this disk) still want
  // their chunks, listed by a peer or not: with their holders away, what they name was garbage.
  for await (const id of o.store.list(o.ownerId)) wants(id, await o.recogniseStored(id))
  // First pass: the history and the manifests, known as this owner's by their seals.
  await eachPage(after => listing.page(after, PAGE), async (blob) => {
    if (await o.store.has(o.ownerId, blob.id)) {
      o.holders.add(blob.id, blob.holders)
      return
    }
    const bytes = await fetch(blob)
    if (bytes === undefined) return
    const own = o.recognise(blob.id, bytes)
    wants(blob.id, own)
    // A chunk whose manifest came first is kept now; the others wait for the second pass.
    if (own === null && !listing.has(blob.id, 'wanted')) listing.mark([blob.id], 'deferred')
    else await keep(blob.id, blob.holders, bytes)
  })
  // Then the chunks the manifests name, fetched again; a folder names more once its listing is here.
  for (let round = true; round;) {
    await eachPage(after => listing.page(after, PAGE, 'wanted'), async (blob) => {
      listing.unmark(blob.id, 'deferred')
      const bytes = await fetch(blob)
      if (bytes !== undefined) await keep(blob.id, blob.holders, bytes)
    })
    round = false
    for (let trees = listing.marked('tree', '', PAGE); trees.length > 0; trees = listing.marked('tree', '', PAGE)) {
      for (const id of trees) {
        // A listing chunk that did not come back: that folder is skipped by the rebuild (missing).
        listing.mark(await o.treeChunks(id).catch(() => []), 'wanted')
        listing.unmark(id, 'tree')
        round = true
      }
    }
  }
  progress.unreferenced = listing.unreferenced()
  for (const { peer, blobs } of listing.unreferencedByPeer()) {
    o.log.warn({ peer, blobs }, 'this peer listed blobs that are neither our history nor named by our manifests: not kept')
  }
  progress.phase = 'done'
  o.onProgress?.({ ...progress })
  return { ...progress, unlisted }
}

/** Each peer's listing into the catalog, at most `maxListed` IDs of it; resolves with how many peers could not list. */
async function listPeers (o: RecoverOptions, progress: RecoverProgress): Promise<number> {
  const max = o.maxListed ?? MAX_LISTED_PER_PEER
  let unlisted = 0
  await Promise.all(o.peers.map(async peer => {
    let page: string[] = []
    let listed = 0
    try {
      for await (const id of o.client.listBlobs(peer, o.ownerId, o.signal)) {
        if (++listed > max) {
          // Not one of its IDs is fetched: asking for each of them (most of them made up, maybe)
          // would cost as long as the listing did. What others listed too comes from them.
          progress.refused++
          o.listing.dropPeer(peer)
          o.log.warn({ peer, max }, 'this peer listed more blobs of ours than a peer may: its listing is refused (nothing of it is fetched), and the recover stays partial')
          return // the client lets the holder go
        }
        page.push(id)
        if (page.length === PAGE) {
          o.listing.addListed(peer, page)
          page = []
        }
      }
      o.listing.addListed(peer, page)
    } catch (err) {
      unlisted++
      o.listing.addListed(peer, page)
      o.log.warn({ peer, err: (err as Error).message }, 'could not list what this peer holds for us; recovering from the others')
    }
  }))
  return unlisted
}
