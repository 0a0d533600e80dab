// The owner's journal: durable facts of which files exist, kept as sealed blobs in the owner's own
// folder and replicated like manifests, so they survive the loss of the disk. A put is complete once
// its `add` record is; an rm writes its `remove` record before any blob is deleted. Checkpoints
// (the list of live file IDs, in parts) let older records be collected. `rebuild`/`recover` replay
// it (replayJournal) and restore exactly the files that existed. Format: docs/DECISIONS.md.
import { randomBytes } from 'node:crypto'
import { widestTarget, type ReplicaTarget, type VaultContext } from './context.ts'
import { storeBlob } from './put.ts'
import {
  CHECKPOINT_FILES_PER_PART, journalKey, sealJournalEntry, type CheckpointPart, type JournalEntry
} from './journal-seal.ts'

/** Records written since the last checkpoint before a new checkpoint collects them. */
export const CHECKPOINT_AFTER_RECORDS = 256

/** Copies wanted stored as in the catalog: 0 = every peer. */
const stored = (target: ReplicaTarget): number => target === 'all' ? 0 : target

export class Journal {
  private readonly ctx: VaultContext
  private readonly key: Buffer
  private checkpointing: Promise<void> | undefined

  constructor (ctx: VaultContext) {
    this.ctx = ctx
    this.key = journalKey(ctx.vaultKey)
  }

  /**
   * Writes one record (durable here, then copied to `target` in all) and returns its blob ID,
   * still pending: the caller completes it in the same catalog commit as the fact it records.
   * A failure leaves nothing claimed (the blob, if written, is collected).
   */
  async append (op: 'add' | 'remove', fileId: string, target: ReplicaTarget): Promise<string> {
    const journal = this.ctx.catalog.journal
    const seq = journal.takeSeq()
    const { id, sealed } = sealJournalEntry(this.key, { v: 1, kind: op, seq, at: new Date().toISOString(), file: fileId })
    journal.claim({ blobId: id, seq, kind: op, fileId, target: stored(target) })
    try {
      await storeBlob(this.ctx, id, sealed, target)
    } catch (err) {
      journal.drop([id])
      await this.ctx.collect([id]).catch(() => {})
      throw err
    }
    return id
  }

  /** Checkpoints when enough records piled up; never fails the caller (the next append retries). */
  async maybeCheckpoint (): Promise<void> {
    if (this.checkpointing !== undefined || this.ctx.catalog.journal.recordsSinceCheckpoint() < CHECKPOINT_AFTER_RECORDS) return
    await this.checkpoint().catch(() => {})
  }

  /** Writes a checkpoint of the live files and collects the records and checkpoints it makes redundant. */
  async checkpoint (): Promise<void> {
    this.checkpointing ??= this.writeCheckpoint().finally(() => { this.checkpointing = undefined })
    await this.checkpointing
  }

  private async writeCheckpoint (): Promise<void> {
    const { catalog } = this.ctx
    const journal = catalog.journal
    // Synchronously, so the snapshot and `covers` agree: every record up to `covers` is complete
    // (its file is listed or gone); later ones, even if complete, are replayed on top.
    const seq = journal.takeSeq()
    const covers = (journal.lowestPendingSeq() ?? seq) - 1
    const files = catalog.fileIds()
    const target = this.checkpointTarget()
    const cp = randomBytes(16).toString('hex')
    const at = new Date().toISOString()
    const parts = Math.max(1, Math.ceil(files.length / CHECKPOINT_FILES_PER_PART))
    const written: string[] = []
    try {
      for (let part = 0; part < parts; part++) {
        const entry: CheckpointPart = { v: 1, kind: 'checkpoint', seq, at, covers, cp, part, parts, files: files.slice(part * CHECKPOINT_FILES_PER_PART, (part + 1) * CHECKPOINT_FILES_PER_PART) }
        const { id, sealed } = sealJournalEntry(this.key, entry)
        journal.claim({ blobId: id, seq, kind: 'checkpoint', fileId: null, target: stored(target) })
        written.push(id)
        await storeBlob(this.ctx, id, sealed, target)
      }
    } catch (err) {
      journal.drop(written)
      await this.ctx.collect(written).catch(() => {})
      throw err
    }
    const superseded = catalog.durably(() => catalog.transaction(() => {
      journal.complete(written)
      const old = journal.supersededBy(seq, covers)
      journal.drop(old)
      return old
    }))
    await this.ctx.collect(superseded)
  }

  /** A checkpoint lists every file, so it gets at least the widest copy target of any of them. */
  private checkpointTarget (): ReplicaTarget {
    const widest = this.ctx.catalog.widestTarget()
    return widestTarget(widest === 0 ? 'all' : widest, this.ctx.defaultReplicas ?? 1)
  }
}

export interface Replay {
  /** File IDs that exist according to the history. */
  live: Set<string>
  /** Journal blobs still needed (the chosen checkpoint's parts and the records after it). */
  keep: Map<string, JournalEntry>
  /** Highest sequence number seen anywhere: new records must come after it. */
  maxSeq: number
  checkpoint?: { seq: number, covers: number }
  /** Checkpoints found with parts missing (ignored). */
  incomplete: number
}

/**
 * What the history says exists: the newest checkpoint whose parts are all present, plus the records
 * after what it covers (a file is live if listed or added, unless removed: file IDs are never reused).
 */
export function replayJournal (entries: Map<string, JournalEntry>): Replay {
  const byCp = new Map<string, Array<[string, CheckpointPart]>>()
  let maxSeq = -1
  for (const [id, entry] of entries) {
    maxSeq = Math.max(maxSeq, entry.seq)
    if (entry.kind === 'checkpoint') byCp.set(entry.cp, [...(byCp.get(entry.cp) ?? []), [id, entry]])
  }
  let chosen: Array<[string, CheckpointPart]> | undefined
  let incomplete = 0
  for (const parts of byCp.values()) {
    const first = parts[0][1]
    const consistent = parts.every(([, p]) => p.seq === first.seq && p.covers === first.covers && p.parts === first.parts)
    const indices = new Set(parts.map(([, p]) => p.part))
    if (!consistent || indices.size !== first.parts) { incomplete++; continue }
    const best = chosen?.[0][1]
    if (best === undefined || first.seq > best.seq || (first.seq === best.seq && `${first.at}${first.cp}` > `${best.at}${best.cp}`)) chosen = parts
  }
  const head = chosen?.[0][1]
  const covers = head?.covers ?? -1
  const live = new Set<string>(chosen?.flatMap(([, p]) => p.files) ?? [])
  const keep = new Map<string, JournalEntry>(chosen ?? [])
  const removed = new Set<string>()
  for (const [id, entry] of entries) {
    if (entry.kind === 'checkpoint' || entry.seq <= covers) continue
    keep.set(id, entry)
    if (entry.kind === 'add') live.add(entry.file)
    else removed.add(entry.file)
  }
  for (const file of removed) live.delete(file)
  return { live, keep, maxSeq, checkpoint: head === undefined ? undefined : { seq: head.seq, covers }, incomplete }
}
