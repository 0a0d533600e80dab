// store/: the on-disk, content-addressed store of sealed blobs, one folder per owner.
export { BlobStore, assertBlobId, assertOwnerId } from './blob-store.ts'
export type { SyncBatch } from './sync-batch.ts'
export { readBlobSync, writeAllAtSync } from './blob-file.ts'
export { verifyBlobs, type ScrubbedBlob, type VerifyOptions } from './scrub.ts'
