// store/: the on-disk, content-addressed store of sealed blobs, one folder per owner.
export { BlobStore, assertBlobId, assertOwnerId } from './blob-store.ts'
export type { SyncBatch } from './sync-batch.ts'
export { readBlobSync, writeAllAtSync } from './blob-file.ts'
// Kept here too for the callers that imported them from the store before atomic/ existed.
export { writeFileAtomic, fsyncDir } from '../atomic/index.ts'
export { verifyBlobs, type ScrubbedBlob, type VerifyOptions } from './scrub.ts'
