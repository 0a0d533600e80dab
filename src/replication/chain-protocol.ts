// The wire format of /distri-vault/chain/1 (chained replication): the owner hands one sealed blob to
// the first holder of a chain with a grant it signed; each holder stores it and forwards it to the
// next. One request per stream: a JSON request frame, one binary frame of `grant.size` bytes, then
// the holder's JSON reply with a signed receipt from every holder downstream that made it durable.
import { z } from 'zod'
import { blobIdSchema, hexBytesSchema, nodeIdSchema } from '../ids/index.ts'
import { MAX_BLOB_BYTES } from './block-protocol.ts'

export const CHAIN_PROTOCOL = '/distri-vault/chain/1'

/** Holders in one chain at most (R ≤ 9 copies with the owner's; a longer target chains the first 8). */
export const MAX_CHAIN_HOLDERS = 8
/** A grant is valid for this long after the owner signs it. */
export const GRANT_TTL_MS = 60_000
/** Clocks of owner and holders may differ by this much either way. */
export const GRANT_CLOCK_SKEW_MS = 30_000
/** A hop's time for its own work and everything downstream: at least this, at most the maximum. */
export const MIN_HOP_BUDGET_MS = 1_000
export const MAX_HOP_BUDGET_MS = 10 * 60_000

/**
 * The budget a sender that waits `waitMs` for an answer gives the next hop: a fifth less (≥ 250 ms),
 * since the hop's clock starts only once the request reached it and its answer must travel back.
 */
export function passOnBudget (waitMs: number): number {
  return Math.floor(Math.min(MAX_HOP_BUDGET_MS, waitMs - Math.max(250, waitMs / 5)))
}

const base64Signature = z.string().regex(/^[A-Za-z0-9+/]{86}==$/)

/** What the owner signs: it alone may let these holders write blob `id` into its folder, in this order. */
export const grantSchema = z.strictObject({
  owner: nodeIdSchema,
  id: blobIdSchema,
  size: z.number().int().min(1).max(MAX_BLOB_BYTES),
  holders: z.array(nodeIdSchema).min(1).max(MAX_CHAIN_HOLDERS),
  /** Milliseconds since the epoch, by the owner's clock. */
  expiresAt: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  nonce: hexBytesSchema(16)
}).refine(g => new Set(g.holders).size === g.holders.length && !g.holders.includes(g.owner), 'holders must be distinct and not the owner')

export type Grant = z.infer<typeof grantSchema>

export const chainRequestSchema = z.strictObject({
  v: z.literal(1),
  grant: grantSchema,
  /** The owner's Ed25519 signature of the grant (base64). */
  sig: base64Signature,
  /** The index in `grant.holders` of the holder this request is for. */
  hop: z.number().int().min(0).max(MAX_CHAIN_HOLDERS - 1),
  /** How long this hop and everything after it may take before it must answer. */
  budgetMs: z.number().int().min(MIN_HOP_BUDGET_MS).max(MAX_HOP_BUDGET_MS)
}).refine(r => r.hop < r.grant.holders.length, 'hop is past the end of the chain')

export type ChainRequest = z.infer<typeof chainRequestSchema>

/** A holder's signed word that its copy is durable (verified by the owner with the holder's key). */
const receiptSchema = z.strictObject({ holder: nodeIdSchema, sig: base64Signature })
/** A holder of the chain that did not make a copy durable, with the code of why. */
const failureSchema = z.strictObject({ holder: nodeIdSchema, code: z.string().max(64) })

export type ChainReceipt = z.infer<typeof receiptSchema>
export type ChainFailure = z.infer<typeof failureSchema>

export const chainReplySchema = z.union([
  z.strictObject({ error: z.strictObject({ code: z.string().max(64), message: z.string().max(1000) }) }),
  z.strictObject({
    ok: z.literal(true),
    receipts: z.array(receiptSchema).max(MAX_CHAIN_HOLDERS),
    failures: z.array(failureSchema).max(MAX_CHAIN_HOLDERS)
  })
])

export type ChainReply = z.infer<typeof chainReplySchema>
