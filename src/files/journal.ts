// The owner's journal: durable facts of which files exist, kept as sealed blobs in the owner's own
// folder and replicated like manifests, so they survive the loss of the disk. A put is complete once
// its `add` record is; an rm writes its `remove` record before any blob is deleted. Checkpoints
// (the list of live file IDs, in parts) let older records be collected. `rebuild`/`recover` replay
// it (replayJournal) and restore exactly the files that existed. Format: docs/DECISIONS.md.
import { randomBytes } from 'node:crypto'
import type { OwnerContext } from './context.ts'
import type { BlobCollector } from './blobs.ts'
import { replication, widestTarget, type ReplicaTarget } from '../redundancy/index.ts'
import { storeBlob } from './blobs.ts'
import {
  CHECKPOINT_FILES_PER_PART, MAX_ABSORBED_LINES, journalKey, sealJournalEntry, type CheckpointPart, type JournalEntry
} from './journal-seal.ts'

/** Records written since the last checkpoint before a new checkpoint collects them. */
export const CHECKPOINT_AFTER_RECORDS = 256

export class Journal {
  private readonly ctx: OwnerContext
  private readonly collector: BlobCollector
  private readonly key: Buffer
  private checkpointing: Promise<void> | undefined
  /** Checkpoints this process wrote: a new one may lack copies again. */
  private checkpointsWritten = 0
  /** `line:checkpointsWritten` when that history's checkpoints were last found with all their copies. */
  private checkpointCopied: string | undefined
  private copyingCheckpoint: Promise<void> | undefined

  /** True while checkpoints are held back (VaultOptions.holdCheckpoints). */
  private readonly held: () => boolean

  constructor (ctx: OwnerContext, collector: BlobCollector, held: () => boolean = () => false) {
    this.ctx = ctx
    this.collector = collector
    this.key = journalKey(ctx.vaultKey)
    this.held = held
  }

  /**
   * Writes one record (durable here, then copied to `target` in all) and returns its blob ID,
   * still pending: the caller completes it in the same catalog commit as the fact it records.
   * A failure leaves nothing claimed (the blob, if written, is collected).
   */
  async append (op: 'add' | 'remove', fileId: string, target: ReplicaTarget): Promise<string> {
    const journal = this.ctx.catalog.journal
    const line = await this.ensureLine()
    await this.copyCheckpointFirst(line)
    const seq = journal.takeSeq()
    const { id, sealed } = sealJournalEntry(this.key, { v: 1, line, kind: op, seq, at: new Date().toISOString(), file: fileId })
    journal.claim({ blobId: id, line, seq, kind: op, fileId, target })
    try {
      // Also on every holder of the file's manifest: a holder that has the manifest then has the
      // record too, so a recover that finds the one finds the other. Placed by its own ID alone,
      // an add record could sit only on a holder away during recover while the manifest was found:
      // recover took the file for a killed put's and collected it everywhere.
      // And on every holder of the history's checkpoint: a recover that finds the checkpoint then
      // finds every record after it, the newest too, whose loss no later number would show; one
      // that does not find it waits for it (replayJournal counts a history without it as unseen).
      await storeBlob(this.ctx, id, sealed, target, { alongside: this.beside(line, fileId) })
    } catch (err) {
      journal.drop([id])
      await this.collector.collect([id]).catch(() => {})
      // Its number is burned: a checkpoint goes over it (maybeCheckpoint), or a recover after the
      // disk is lost would take it for a record on a peer not seen and stay partial for ever.
      await this.maybeCheckpoint()
      throw err
    }
    return id
  }

  /** The holders a record of `fileId` in history `line` goes to besides its own placement. */
  private beside (line: string, fileId: string): string[] {
    const { catalog } = this.ctx
    const peers = new Set(catalog.holders.of(fileId))
    for (const part of catalog.journal.checkpointBlobs(line)) for (const peer of catalog.holders.of(part)) peers.add(peer)
    return [...peers]
  }

  /**
   * A record only means something after its checkpoint, so the checkpoint gets its copies first.
   * The first one is written at start, before the network is up, and stays on this disk alone
   * until a repair pass copies it. A disk lost in between left the holders records without their
   * checkpoint: recover could not tell what that history started from (replayJournal's `headless`)
   * and counted every manifest it found, so a put killed midway came back. Best effort, as a
   * record's own copies are: what is not copied now is the repair pass's, and the next record tries again.
   */
  private async copyCheckpointFirst (line: string): Promise<void> {
    const { redundancy } = this.ctx
    // No peer to copy to (a lone node): nothing to try until one comes.
    if (!redundancy.makesCopies || redundancy.reachablePeers() === 0 || this.checkpointCopied === `${line}:${this.checkpointsWritten}`) return
    // One copy at a time, however many puts append at once.
    this.copyingCheckpoint ??= this.copyCheckpoint(line).finally(() => { this.copyingCheckpoint = undefined })
    await this.copyingCheckpoint
  }

  private async copyCheckpoint (line: string): Promise<void> {
    const { catalog, redundancy, store, nodeId } = this.ctx
    const copied = `${line}:${this.checkpointsWritten}`
    const all = replication.copiesWanted('all', redundancy.reachablePeers())
    const missing = catalog.journal.underReplicated(all).filter(row => row.kind === 'checkpoint' && row.line === line)
    let complete = true
    for (const row of missing) {
      try {
        const { holders, shortfall } = await redundancy.replicate(row.blobId, await store.get(nodeId, row.blobId), row.target)
        catalog.holders.add(row.blobId, holders)
        if (shortfall !== undefined) complete = false
      } catch {
        complete = false
      }
    }
    if (complete) this.checkpointCopied = copied
  }

  /**
   * This node's history: made on first use with a first checkpoint (the files of the catalog, none
   * for a new vault), so every history starts from a known list. Resolves with its ID.
   */
  async ensureLine (): Promise<string> {
    const existing = this.ctx.catalog.journal.line()
    if (existing !== undefined) return existing
    this.ctx.catalog.journal.setLine(randomBytes(16).toString('hex'))
    await this.checkpoint()
    return this.ctx.catalog.journal.line()!
  }

  /**
   * Checkpoints when enough records piled up (at least a quarter of the files, so a big vault's
   * checkpoint costs little per record), or a failure burned a number since the last one, unless
   * held (a recover pending: the records then pile up until it completes, and its own checkpoint
   * collects them); never fails the caller (the next append retries).
   */
  async maybeCheckpoint (): Promise<void> {
    const { catalog } = this.ctx
    const line = catalog.journal.line()
    if (line === undefined || this.checkpointing !== undefined || this.held()) return
    if (catalog.journal.gapsSinceCheckpoint(line) === 0 &&
      catalog.journal.recordsSinceCheckpoint(line) < Math.max(CHECKPOINT_AFTER_RECORDS, Math.ceil(catalog.countFiles() / 4))) return
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
    const line = journal.line()!
    const seq = journal.takeSeq()
    const covers = (journal.lowestPendingSeq() ?? seq) - 1
    const files = catalog.fileIds()
    const absorbed = [...new Set([...journal.absorbedLines(), ...journal.otherLines(line)])].slice(-MAX_ABSORBED_LINES)
    const target = this.checkpointTarget()
    const cp = randomBytes(16).toString('hex')
    const at = new Date().toISOString()
    const parts = Math.max(1, Math.ceil(files.length / CHECKPOINT_FILES_PER_PART))
    const written: string[] = []
    try {
      for (let part = 0; part < parts; part++) {
        const entry: CheckpointPart = { v: 1, line, kind: 'checkpoint', seq, at, covers, cp, absorbed, part, parts, files: files.slice(part * CHECKPOINT_FILES_PER_PART, (part + 1) * CHECKPOINT_FILES_PER_PART) }
        const { id, sealed } = sealJournalEntry(this.key, entry)
        journal.claim({ blobId: id, line, seq, kind: 'checkpoint', fileId: null, target })
        written.push(id)
        await storeBlob(this.ctx, id, sealed, target)
      }
    } catch (err) {
      journal.drop(written)
      await this.collector.collect(written).catch(() => {})
      throw err
    }
    // Stored with its copies just now, or not all of them: the next record checks.
    this.checkpointsWritten++
    const superseded = catalog.durably(() => catalog.transaction(() => {
      journal.complete(written)
      journal.absorb(absorbed)
      const old = journal.supersededBy(line, seq, covers)
      journal.drop(old)
      return old
    }))
    await this.collector.collect(superseded)
  }

  /** A checkpoint lists every file, so it gets at least the widest copy target of any of them. */
  private checkpointTarget (): ReplicaTarget {
    return widestTarget(this.ctx.catalog.widestTarget(), this.ctx.defaultReplicas)
  }
}

export interface Replay {
  /** File IDs that exist according to the history. */
  live: Set<string>
  /** File IDs a record of the history removes (none of them is live). */
  removed: Set<string>
  /** Every file ID any entry names (a manifest no entry names is a killed put's, or older than the journal). */
  mentioned: Set<string>
  /** Journal blobs still needed (each history's chosen checkpoint and the records after it). */
  keep: Map<string, JournalEntry>
  /** Each history found (not absorbed) and the highest sequence number seen in it. */
  lines: Map<string, number>
  /** Histories that checkpoints say were merged into another: ignored. */
  absorbed: Set<string>
  /** A history without a complete checkpoint: what it started from is unknown. */
  headless: boolean
  /** Histories other than `own` without a complete checkpoint (each counted in `unseen` too). */
  headlessOthers: number
  /** Checkpoints found with parts missing (ignored). */
  incomplete: number
  /**
   * Sequence numbers after a history's chosen checkpoint with no entry found: records held only by
   * peers not seen (or numbers a failure burned). A history without a checkpoint is not counted.
   */
  unseen: number
}

/**
 * What the history says exists. Per history (line): the newest checkpoint whose parts are all
 * present, plus the records after what it covers. A file is live if some history lists or adds it,
 * unless some history removes it: file IDs are never reused, so a removal is final everywhere.
 * `own`: this catalog's history, whose numbers are not counted as `unseen`.
 */
export function replayJournal (entries: Map<string, JournalEntry>, own?: string): Replay {
  const absorbed = new Set<string>()
  for (const entry of entries.values()) if (entry.kind === 'checkpoint') for (const line of entry.absorbed) absorbed.add(line)
  const byLine = new Map<string, Array<[string, JournalEntry]>>()
  const mentioned = new Set<string>()
  for (const [id, entry] of entries) {
    if (entry.kind === 'checkpoint') for (const file of entry.files) mentioned.add(file)
    else mentioned.add(entry.file)
    if (!absorbed.has(entry.line)) byLine.set(entry.line, [...(byLine.get(entry.line) ?? []), [id, entry]])
  }
  const removed = new Set<string>()
  const replay: Replay = { live: new Set(), removed, mentioned, keep: new Map(), lines: new Map(), absorbed, headless: false, headlessOthers: 0, incomplete: 0, unseen: 0 }
  for (const [line, lineEntries] of byLine) {
    const one = replayLine(lineEntries)
    for (const file of one.live) replay.live.add(file)
    for (const file of one.removed) removed.add(file)
    for (const [id, entry] of one.keep) replay.keep.set(id, entry)
    replay.lines.set(line, one.maxSeq)
    replay.headless ||= !one.hasCheckpoint
    replay.incomplete += one.incomplete
    // This node's own history is all on its disk (every record is written here first): a number
    // missing there was burned by a failure, never held by a peer.
    if (line !== own) {
      replay.unseen += one.unseen
      // Another history with records but no checkpoint: its checkpoint is on a peer not seen (every
      // history starts with one, copied before its first record). It counts as a record unseen.
      if (!one.hasCheckpoint) {
        replay.headlessOthers++
        replay.unseen++
      }
    }
  }
  for (const file of removed) replay.live.delete(file)
  return replay
}

function replayLine (entries: Array<[string, JournalEntry]>): { live: Set<string>, removed: Set<string>, keep: Map<string, JournalEntry>, maxSeq: number, hasCheckpoint: boolean, incomplete: number, unseen: number } {
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
    if (!consistent || new Set(parts.map(([, p]) => p.part)).size !== first.parts) { incomplete++; continue }
    const best = chosen?.[0][1]
    if (best === undefined || first.seq > best.seq || (first.seq === best.seq && `${first.at}${first.cp}` > `${best.at}${best.cp}`)) chosen = parts
  }
  const covers = chosen?.[0][1].covers ?? -1
  const live = new Set<string>(chosen?.flatMap(([, p]) => p.files) ?? [])
  const keep = new Map<string, JournalEntry>(chosen ?? [])
  const removed = new Set<string>()
  for (const [id, entry] of entries) {
    if (entry.kind === 'checkpoint' || entry.seq <= covers) continue
    keep.set(id, entry)
    if (entry.kind === 'add') live.add(entry.file)
    else removed.add(entry.file)
  }
  return { live, removed, keep, maxSeq, hasCheckpoint: chosen !== undefined, incomplete, unseen: unseenAfter(chosen?.[0][1].seq, maxSeq, entries) }
}

/**
 * Numbers in (checkpoint, maxSeq] that no entry of the history has. Every number is taken by one
 * record or checkpoint, and records after the newest checkpoint are never collected: a number
 * missing there is a record only a peer not seen holds, or one a failure burned (an append that
 * failed, a put dropped after a crash, a checkpoint that failed), never a normal event.
 */
function unseenAfter (checkpointSeq: number | undefined, maxSeq: number, entries: Array<[string, JournalEntry]>): number {
  if (checkpointSeq === undefined) return 0
  const seen = new Set(entries.map(([, entry]) => entry.seq).filter(seq => seq > checkpointSeq))
  return Math.max(0, maxSeq - checkpointSeq) - seen.size
}
