// Where the bytes of a blob come from: the local store first, then (when the node has a network)
// the holders. files/ knows nothing of the network; replication/ plugs in through this interface.
import type { BlobStore } from '../store/index.ts'
import { VaultError } from '../errors.ts'

export interface RemoteBlobs {
  /** Fetches a blob of `owner` from the holders; the result must already be hash-verified. */
  fetch: (owner: string, id: string, signal?: AbortSignal) => Promise<Buffer>
}

export async function readBlob (store: BlobStore, remote: RemoteBlobs | undefined, owner: string, id: string, signal?: AbortSignal): Promise<Buffer> {
  try {
    return await store.get(owner, id)
  } catch (err) {
    if (remote === undefined) throw err
    if (!(err instanceof VaultError) || (err.code !== 'NOT_FOUND' && err.code !== 'CORRUPT')) throw err
    return await remote.fetch(owner, id, signal)
  }
}
