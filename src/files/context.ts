// What the file operations of one owner share: the owner's keys, the store, the catalog.
import type { Catalog, FileRecord } from '../catalog/index.ts'
import type { BlobStore } from '../store/index.ts'
import type { RemoteBlobs } from './chunk-source.ts'
import type { Journal } from './journal.ts'
import type { BlobShortfall } from './shortfall.ts'

/** Copies wanted in all, the owner's counted; 'all' = one on every peer. Stored as 0 in the catalog. */
export type ReplicaTarget = number | 'all'

/** The wider of two copy targets ('all' is the widest). */
export function widestTarget (a: ReplicaTarget, b: ReplicaTarget): ReplicaTarget {
  return a === 'all' || b === 'all' ? 'all' : Math.max(a, b)
}

/** How files/ hands its sealed blobs to replication/ without knowing the network. */
export interface BlobReplication {
  /** Makes sure `target` copies exist in all (the owner's counted); resolves with the holders, and why copies are missing when some are. */
  replicate: (blobId: string, sealed: Uint8Array, target: ReplicaTarget) => Promise<{ holders: string[], shortfall?: BlobShortfall }>
  /** These blobs were deleted here: their holders must drop them too (now or when they return). */
  removed: (blobIds: string[]) => Promise<void>
  /** The copies a file of target 'all' should have right now. */
  allTarget: () => number
}

export interface VaultContext {
  nodeId: string
  vaultKey: Buffer
  store: BlobStore
  catalog: Catalog
  remote?: RemoteBlobs
  /** Copies on peers; absent on a node without a network. */
  replication?: BlobReplication
  /** Copies wanted when a put does not say (journal blobs get at least this many). */
  defaultReplicas?: ReplicaTarget
  /** The owner's sealed history of which files exist. */
  journal: Journal
  /** Deletes these of the owner's blobs unless a file (or a put in progress) uses them again. */
  collect: (blobIds: string[]) => Promise<void>
  removeRecord: (record: FileRecord) => Promise<void>
}
