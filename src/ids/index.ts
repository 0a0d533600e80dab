// ids/: the IDs of distri-vault (blob, file, node/owner) as branded types, one check each.
export { isBlobId, isNodeId, parseBlobId, parseNodeId, parseFileId, blobIdSchema, fileIdSchema, nodeIdSchema, hexBytesSchema } from './ids.ts'
export type { BlobId, FileId, NodeId } from './ids.ts'
