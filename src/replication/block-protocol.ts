// The wire format of /distri-vault/block/1: one request per stream, a JSON request frame (plus one
// binary frame of sealed bytes for PUT), then the holder's JSON reply (plus the bytes for GET).
// Every frame is size-bounded and every JSON frame is validated here, at the edge.
import { z } from 'zod'
import { VaultError, type ErrorCode } from '../errors.ts'
import { blobIdSchema, nodeIdSchema, hexBytesSchema } from '../ids/index.ts'

export const BLOCK_PROTOCOL = '/distri-vault/block/1'

/** Largest sealed blob: the chunker's 4 MiB maximum plus sealing overhead, with room to spare. */
export const MAX_BLOB_BYTES = 4 * 1024 * 1024 + 64
/** Largest JSON frame (requests and replies): 1024 IDs of 64 hex digits with their quotes fit. */
export const MAX_JSON_FRAME_BYTES = 128 * 1024
/** IDs per DELETE or HAS request; clients split longer lists. */
export const MAX_IDS_PER_REQUEST = 1024
/** IDs per LIST reply frame. */
export const LIST_PAGE_IDS = 1000
/** Blobs per PROVE request: the holder reads at most this many blobs (≤ 4 MiB each) for one request. */
export const MAX_PROVE_IDS = 8

const blobId = blobIdSchema
// Same check as the store's folder names: base58 node IDs only, so no path tricks.
const ownerId = nodeIdSchema
const idList = z.array(blobId).min(1).max(MAX_IDS_PER_REQUEST)

export const blockRequestSchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('put'), owner: ownerId, id: blobId, size: z.number().int().min(1).max(MAX_BLOB_BYTES) }),
  z.strictObject({ op: z.literal('get'), owner: ownerId, id: blobId }),
  z.strictObject({ op: z.literal('delete'), owner: ownerId, ids: idList }),
  z.strictObject({ op: z.literal('has'), owner: ownerId, ids: idList }),
  // `after` resumes a listing that broke off: only IDs greater than it are sent.
  z.strictObject({ op: z.literal('list'), owner: ownerId, after: blobId.optional() }),
  // An audit: the holder answers HMAC-SHA256(key = nonce, blob bytes) per ID, or null if it lacks it.
  z.strictObject({ op: z.literal('prove'), owner: ownerId, nonce: hexBytesSchema(32), ids: z.array(blobId).min(1).max(MAX_PROVE_IDS) }),
  // Holder → owner: "my copies of these blobs of yours went bad and are deleted" (after a scrub).
  z.strictObject({ op: z.literal('lost'), owner: ownerId, ids: idList })
])

export type BlockRequest = z.infer<typeof blockRequestSchema>

const errorReply = z.strictObject({
  error: z.strictObject({ code: z.string().max(64), message: z.string().max(1000) })
})

function reply<S extends z.ZodRawShape> (shape: S) {
  return z.union([errorReply, z.strictObject({ ok: z.literal(true), ...shape })])
}

export const putReplySchema = reply({})
export const getReplySchema = reply({ size: z.number().int().min(1).max(MAX_BLOB_BYTES) })
export const deleteReplySchema = reply({ deleted: z.number().int().min(0).max(MAX_IDS_PER_REQUEST) })
/** `held`: base64 bitmap, bit i (most significant first) set when the holder has ids[i]. */
export const hasReplySchema = reply({ held: z.string().max(4 * Math.ceil(MAX_IDS_PER_REQUEST / 8 / 3) + 4) })
export const listReplySchema = reply({ ids: z.array(blobId).max(LIST_PAGE_IDS), done: z.boolean() })
/** `proofs[i]`: the proof for ids[i], or null when the holder does not have it. */
export const proveReplySchema = reply({ proofs: z.array(z.union([blobId, z.null()])).max(MAX_PROVE_IDS) })
export const lostReplySchema = reply({ dropped: z.number().int().min(0).max(MAX_IDS_PER_REQUEST) })

export type ErrorReply = z.infer<typeof errorReply>

/**
 * Codes a holder answers with in an error frame. Anything else a peer sends is reported as
 * PEER_ERROR, so a remote can't make us raise codes that mean something local (UNAUTHORIZED…).
 */
const REPLY_CODES = new Set<ErrorCode>(['FORBIDDEN', 'GRANT_INVALID', 'GRANT_EXPIRED', 'GRANT_REPLAYED', 'STORAGE_FULL', 'DISK_FULL', 'NOT_FOUND', 'CORRUPT', 'BAD_INPUT', 'INTERNAL', 'BUSY'])

export function isReplyable (err: unknown): err is VaultError {
  return err instanceof VaultError && REPLY_CODES.has(err.code)
}

export function toErrorReply (err: VaultError): ErrorReply {
  // Internal failures stay internal: the peer learns that the holder failed, not its paths.
  const message = err.code === 'INTERNAL' ? 'the holder failed to serve the request' : err.message
  return { error: { code: err.code, message: message.slice(0, 1000) } }
}

export function fromErrorReply (reply: ErrorReply, peerId: string): VaultError {
  const code = REPLY_CODES.has(reply.error.code as ErrorCode) ? reply.error.code as ErrorCode : 'PEER_ERROR'
  return new VaultError(code, `peer ${shortId(peerId)}: ${reply.error.message}`)
}

export function isErrorReply (value: object): value is ErrorReply {
  return 'error' in value
}

export function encodeBitmap (bits: boolean[]): string {
  const bytes = new Uint8Array(Math.ceil(bits.length / 8))
  bits.forEach((bit, i) => { if (bit) bytes[i >> 3] |= 0x80 >> (i & 7) })
  return Buffer.from(bytes).toString('base64')
}

export function decodeBitmap (text: string, count: number): boolean[] {
  const bytes = Buffer.from(text, 'base64')
  if (bytes.length !== Math.ceil(count / 8)) throw new VaultError('BAD_FRAME', `bitmap of ${bytes.length} bytes for ${count} IDs`)
  return Array.from({ length: count }, (_, i) => (bytes[i >> 3] & (0x80 >> (i & 7))) !== 0)
}

export function shortId (nodeId: string): string {
  return nodeId.length > 16 ? `…${nodeId.slice(-8)}` : nodeId
}
