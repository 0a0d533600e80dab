// The IDs of distri-vault, one regex and one parse function each (restic's internal/restic/id.go is
// the model). A branded type says a string has been checked: a function that takes a BlobId cannot
// be handed an unchecked string by mistake. Parse at the edge (flags, API, frames, the disk), then
// trust the type.
import { z } from 'zod'
import { VaultError } from '../errors.ts'

/** A blob's ID: the SHA-256 of its sealed bytes, 64 lowercase hex digits (chunks and manifests). */
export type BlobId = string & { readonly __brand: 'BlobId' }
/** A file's ID: the blob ID of its sealed manifest. */
export type FileId = BlobId
/** A node's ID (the owner of a vault folder): its libp2p peer ID, base58btc (Ed25519 keys only). */
export type NodeId = string & { readonly __brand: 'NodeId' }

const BLOB_ID = /^[0-9a-f]{64}$/
// The one spelling of an Ed25519 peer ID (the only key type distri-vault makes): the identity
// multihash of the key in base58btc, always 52 characters starting 12D3KooW. libp2p also reads the
// key's CID forms (base32 'bafz…', base36 'k51…'); accepting one of those that happens to use only
// base58 letters gave a node a second name, with its own rate budgets and its own folder.
const NODE_ID = /^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/

export function isBlobId (text: string): text is BlobId {
  return BLOB_ID.test(text)
}

export function isNodeId (text: string): text is NodeId {
  return NODE_ID.test(text)
}

/** `text` as a blob ID, or BAD_INPUT. */
export function parseBlobId (text: string): BlobId {
  if (!isBlobId(text)) throw new VaultError('BAD_INPUT', 'not a valid blob ID (64 hex digits)')
  return text
}

/** `text` as a node (owner) ID, or BAD_INPUT. */
export function parseNodeId (text: string): NodeId {
  // Keeps path separators and dots out of the store's folder names whatever the caller checked.
  if (!isNodeId(text)) throw new VaultError('BAD_INPUT', 'not a valid owner node ID')
  return text
}

export const parseFileId: (text: string) => FileId = parseBlobId

/**
 * The same checks for zod schemas at the wire and file edges. They yield plain strings, not the
 * branded types: the frames built from them are typed by their schemas, and a brand there would
 * make every sender cast.
 */
export const blobIdSchema = z.string().regex(BLOB_ID)
export const fileIdSchema = blobIdSchema
export const nodeIdSchema = z.string().regex(NODE_ID)

/** A key, nonce or MAC of `bytes` bytes as lowercase hex (not an ID, but checked the same way). */
export function hexBytesSchema (bytes: number): z.ZodString {
  return z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`))
}
