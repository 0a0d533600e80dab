// Journal blobs: the owner's sealed history of which files exist (files/journal.ts). Each blob is
// [format 1][nonce 12][AES-256-GCM ciphertext][tag 16] under a key HKDF-derived from the vault key,
// like every other blob of the owner (no plaintext marker: a holder can't tell it from a chunk
// except by its small size). The sequence number, the kind and the file ID are inside the sealed
// bytes, and the blob's ID is the SHA-256 of those bytes: a holder can neither forge a record nor
// move one to another place in the history.
import { z } from 'zod'
import { deriveKey, open, seal, sha256Hex, SEAL_OVERHEAD } from '../crypto/index.ts'
import { fileIdSchema, hexBytesSchema } from '../ids/index.ts'


const FORMAT = Buffer.from([1])
const AAD = Buffer.from('distri-vault/journal/v1')
/** File IDs per checkpoint part: ~67 KB of JSON, so a part stays a small blob. */
export const CHECKPOINT_FILES_PER_PART = 1000
/** No journal blob is larger; bigger blobs are not even read when looking for the journal. */
export const MAX_JOURNAL_BLOB_BYTES = 96 * 1024

const hex64 = fileIdSchema
const seq = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
const hex32 = hexBytesSchema(16)
/** Histories a checkpoint may absorb (one per disk loss with puts before `recover`). */
export const MAX_ABSORBED_LINES = 256

/** `line`: which history (a random ID made with the journal's first checkpoint) the entry belongs to. */
const recordSchema = z.object({ v: z.literal(1), line: hex32, kind: z.enum(['add', 'remove']), seq, at: z.string().max(40), file: hex64 }).strict()
const checkpointSchema = z.object({
  v: z.literal(1),
  line: hex32,
  kind: z.literal('checkpoint'),
  seq,
  at: z.string().max(40),
  /** Every record up to this seq is reflected in `files`; records after it are replayed on top. */
  covers: z.number().int().min(-1),
  /** Binds the parts of one checkpoint together. */
  cp: hex32,
  /** Other histories merged into this one: their blobs are never replayed again. */
  absorbed: z.array(hex32).max(MAX_ABSORBED_LINES),
  part: z.number().int().nonnegative(),
  parts: z.number().int().positive().max(1_000_000),
  files: z.array(hex64).max(CHECKPOINT_FILES_PER_PART)
}).strict().refine(c => c.part < c.parts && c.covers < c.seq)

export const journalEntrySchema = z.union([recordSchema, checkpointSchema])
export type JournalRecord = z.infer<typeof recordSchema>
export type CheckpointPart = z.infer<typeof checkpointSchema>
export type JournalEntry = JournalRecord | CheckpointPart

export function journalKey (vaultKey: Uint8Array): Buffer {
  return deriveKey(vaultKey, 'distri-vault/journal/v1', 'journal')
}

export function sealJournalEntry (key: Uint8Array, entry: JournalEntry): { id: string, sealed: Buffer } {
  const sealed = Buffer.concat([FORMAT, seal(key, Buffer.from(JSON.stringify(entry)), AAD)])
  return { id: sha256Hex(sealed), sealed }
}

/** The entry in `sealed` if it is a journal blob of this key's owner (and whole), else null. */
export function openJournalEntry (key: Uint8Array, sealed: Uint8Array): JournalEntry | null {
  if (sealed.length < 1 + SEAL_OVERHEAD || sealed.length > MAX_JOURNAL_BLOB_BYTES || sealed[0] !== FORMAT[0]) return null
  try {
    const parsed = journalEntrySchema.safeParse(JSON.parse(open(key, sealed.subarray(1), AAD).toString('utf8')))
    return parsed.success ? parsed.data : null
  } catch {
    return null
  }
}
