// What the file operations of one owner share: the owner's keys, the store, the catalog.
import type { Catalog, FileRecord } from '../catalog/index.ts'
import type { BlobStore } from '../store/index.ts'
import type { RemoteBlobs } from './chunk-source.ts'

export interface VaultContext {
  nodeId: string
  vaultKey: Buffer
  store: BlobStore
  catalog: Catalog
  remote?: RemoteBlobs
  /** Deletes these of the owner's blobs unless a file (or a put in progress) uses them again. */
  collect: (blobIds: string[]) => Promise<void>
  removeRecord: (record: FileRecord) => Promise<void>
}
