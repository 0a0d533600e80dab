// The context every file operation of one owner is handed by the Vault: the owner's context plus
// its journal and the collector of blobs nothing uses any more.
import type { OwnerContext } from './context.ts'
import type { BlobCollector } from './blobs.ts'
import type { Journal } from './journal.ts'

export interface VaultContext extends OwnerContext {
  /** The owner's sealed history of which files exist. */
  readonly journal: Journal
  /** Deletes the owner's blobs that nothing uses any more, here and on their holders. */
  readonly collector: BlobCollector
}
