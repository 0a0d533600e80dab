// What the file operations of one owner share, handed to each at construction by the Vault: the
// owner's keys, the store, the catalog, where missing blobs come from, and how copies are made.
import type { Catalog } from '../catalog/index.ts'
import type { BlobStore } from '../store/index.ts'
import type { ReplicaTarget } from '../redundancy/index.ts'
import type { RemoteBlobs } from './chunk-source.ts'
import type { BlobShortfall } from './shortfall.ts'

/** How files/ has copies of its sealed blobs made and dropped elsewhere, without knowing the network. */
export interface Redundancy {
  /** False for the local stand-in (no network): nothing is copied. */
  readonly makesCopies: boolean
  /**
   * Makes sure `target` copies exist in all (the owner's counted), plus one on each reachable peer
   * of `alongside`; resolves with the holders, and why copies are missing when some are.
   */
  replicate: (blobId: string, sealed: Uint8Array, target: ReplicaTarget, options?: { alongside?: string[] }) => Promise<{ holders: string[], shortfall?: BlobShortfall }>
  /** These blobs were deleted here: their holders must drop them too (now or when they return). */
  removed: (blobIds: string[]) => Promise<void>
  /** Peers that can be reached now: what a target of 'all' stands for. */
  reachablePeers: () => number
}

/**
 * The redundancy of a vault without a network (before it is up, and in tests): no copies are made,
 * and the recorded holders of deleted blobs hear of it when they reconnect.
 */
export class LocalRedundancy implements Redundancy {
  readonly makesCopies = false
  private readonly catalog: Catalog

  constructor (catalog: Catalog) {
    this.catalog = catalog
  }

  async replicate (): Promise<{ holders: string[] }> { return { holders: [] } }

  async removed (blobIds: string[]): Promise<void> {
    for (const [peer, ids] of this.catalog.holders.drop(blobIds)) this.catalog.holders.queueDeletes(peer, ids)
  }

  reachablePeers (): number { return 0 }
}

/** The owner and where its blobs live and go. */
export interface OwnerContext {
  readonly nodeId: string
  readonly vaultKey: Buffer
  readonly store: BlobStore
  readonly catalog: Catalog
  /** Where blobs missing (or damaged) here come from; undefined without a network. */
  readonly remote: RemoteBlobs | undefined
  readonly redundancy: Redundancy
  /** Copies wanted when a put does not say (journal blobs get at least this many). */
  readonly defaultReplicas: ReplicaTarget
}
