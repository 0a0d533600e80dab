// store's job on the worker pool (workers/): writing one blob file (write, fsync, rename, folder
// fsync) in one hop, with synchronous calls a worker may block on.
import { defineJob } from '../workers/index.ts'
import { writeBlobSync, type BlobOnDisk } from './blob-file.ts'

export const writeBlobJob = defineJob({
  name: 'store.writeBlob',
  module: import.meta.url,
  onDisk: true,
  // `sync` false: a SyncBatch makes the blob durable later (a folder's put).
  perform: (input: { id: string, tmp: string, target: string, data: Uint8Array, sync?: boolean }) =>
    ({ result: writeBlobSync(input.tmp, input.target, input.id, input.data, input.sync !== false) as BlobOnDisk, transfer: [] })
})
