// The owner's journal as the catalog knows it: which sealed journal blobs (records and checkpoint
// parts, files/journal.ts) are live, the next sequence number, and the tombstones of blobs this
// owner deleted (what its holders may still keep and the holder sweep may collect).
import type { DatabaseSync } from 'node:sqlite'
import { storedTarget, targetFromStored, wantedCopiesSql, type ReplicaTarget } from '../redundancy/index.ts'

export type JournalKind = 'add' | 'remove' | 'checkpoint'

export interface JournalRow { blobId: string, line: string, seq: number, kind: JournalKind, fileId: string | null, target: ReplicaTarget, state: 'pending' | 'complete' }

interface Row { blob_id: string, line: string, seq: number, kind: JournalKind, file_id: string | null, target: number, state: 'pending' | 'complete' }

const toRow = (r: Row): JournalRow => ({ blobId: r.blob_id, line: r.line, seq: r.seq, kind: r.kind, fileId: r.file_id, target: targetFromStored(r.target), state: r.state })

export class JournalIndex {
  private readonly db: DatabaseSync

  constructor (db: DatabaseSync) {
    this.db = db
  }

  /** Takes the next sequence number for good: a number is never handed out twice, even if its record fails. */
  takeSeq (): number {
    const seq = this.nextSeq()
    this.raiseNextSeq(seq + 1)
    return seq
  }

  nextSeq (): number {
    const row = this.db.prepare("SELECT value FROM journal_state WHERE key = 'next_seq'").get() as { value: number } | undefined
    return row?.value ?? 0
  }

  /** After a rebuild: never reuse a number already seen in the history. */
  raiseNextSeq (atLeast: number): void {
    this.db.prepare("INSERT INTO journal_state (key, value) VALUES ('next_seq', ?) ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)").run(atLeast)
  }

  /** This node's own history, once it has one. */
  line (): string | undefined {
    return (this.db.prepare("SELECT value FROM journal_state WHERE key = 'line'").get() as { value: string } | undefined)?.value
  }

  setLine (line: string): void {
    this.db.prepare("INSERT INTO journal_state (key, value) VALUES ('line', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(line)
  }

  /** Histories merged into this one (never replayed again), and the others still in the table. */
  absorbedLines (): string[] {
    return (this.db.prepare('SELECT line FROM journal_absorbed ORDER BY line').all() as Array<{ line: string }>).map(r => r.line)
  }

  absorb (lines: string[]): void {
    const insert = this.db.prepare('INSERT OR IGNORE INTO journal_absorbed (line) VALUES (?)')
    for (const line of lines) insert.run(line)
  }

  otherLines (own: string): string[] {
    return (this.db.prepare('SELECT DISTINCT line FROM journal WHERE line != ? ORDER BY line').all(own) as Array<{ line: string }>).map(r => r.line)
  }

  /** Claims a journal blob before it touches the disk, so a crash or a sweep knows of it. */
  claim (row: Omit<JournalRow, 'state'>, state: JournalRow['state'] = 'pending'): void {
    this.db.prepare('INSERT OR IGNORE INTO journal (blob_id, line, seq, kind, file_id, target, state) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(row.blobId, row.line, row.seq, row.kind, row.fileId, storedTarget(row.target), state)
  }

  complete (blobIds: string[]): void {
    const update = this.db.prepare("UPDATE journal SET state = 'complete' WHERE blob_id = ?")
    for (const id of blobIds) update.run(id)
  }

  /** Forgets a journal blob (a failed record, or one a checkpoint made redundant). */
  drop (blobIds: string[]): void {
    const del = this.db.prepare('DELETE FROM journal WHERE blob_id = ?')
    for (const id of blobIds) del.run(id)
  }

  /** The number of history `line`'s newest complete checkpoint, -1 when it has none. */
  private newestCheckpointSeq (line: string): number {
    return (this.db.prepare("SELECT max(seq) AS cp FROM journal WHERE line = ? AND kind = 'checkpoint' AND state = 'complete'").get(line) as { cp: number | null }).cp ?? -1
  }

  /** The parts of history `line`'s newest complete checkpoint. */
  checkpointBlobs (line: string): string[] {
    return (this.db.prepare("SELECT blob_id FROM journal WHERE line = ? AND kind = 'checkpoint' AND state = 'complete' AND seq = ?")
      .all(line, this.newestCheckpointSeq(line)) as Array<{ blob_id: string }>).map(r => r.blob_id)
  }

  /** The complete add record of a file, while no checkpoint has collected it. */
  addRecordOf (fileId: string): string | undefined {
    return (this.db.prepare("SELECT blob_id FROM journal WHERE kind = 'add' AND file_id = ? AND state = 'complete' LIMIT 1").get(fileId) as { blob_id: string } | undefined)?.blob_id
  }

  pending (): JournalRow[] {
    return (this.db.prepare("SELECT * FROM journal WHERE state = 'pending' ORDER BY seq").all() as unknown as Row[]).map(toRow)
  }

  count (): number {
    return (this.db.prepare('SELECT count(*) AS n FROM journal').get() as { n: number }).n
  }

  /** Records (not checkpoints) of history `line` written since its newest checkpoint. */
  recordsSinceCheckpoint (line: string): number {
    return (this.db.prepare("SELECT count(*) AS n FROM journal WHERE line = ? AND kind != 'checkpoint' AND seq > ?")
      .get(line, this.newestCheckpointSeq(line)) as { n: number }).n
  }

  /**
   * Numbers of history `line` taken since its newest checkpoint that no journal blob has: burned by
   * a record or checkpoint that failed. A recover on a new disk takes each for a record on a peer
   * not seen (Replay.unseen), so a checkpoint goes over them.
   */
  gapsSinceCheckpoint (line: string): number {
    const cp = this.newestCheckpointSeq(line)
    if (cp === -1) return 0
    const used = (this.db.prepare('SELECT count(DISTINCT seq) AS n FROM journal WHERE line = ? AND seq > ?').get(line, cp) as { n: number }).n
    return Math.max(0, this.nextSeq() - 1 - cp - used)
  }

  /** The lowest sequence number still pending, if any: a checkpoint covers only what lies below it. */
  lowestPendingSeq (): number | undefined {
    const row = this.db.prepare("SELECT min(seq) AS s FROM journal WHERE state = 'pending'").get() as { s: number | null }
    return row.s ?? undefined
  }

  /**
   * What checkpoint `seq` of history `line` makes redundant: that history's complete records up to
   * `covers` and its older checkpoints, and every blob of the other histories (it absorbs them).
   */
  supersededBy (line: string, seq: number, covers: number): string[] {
    return (this.db.prepare(`SELECT blob_id FROM journal WHERE state = 'complete' AND (line != ? OR
      (kind != 'checkpoint' AND seq <= ?) OR (kind = 'checkpoint' AND seq < ?))`).all(line, covers, seq) as Array<{ blob_id: string }>).map(r => r.blob_id)
  }

  /** Complete journal blobs with fewer copies than wanted (`allTarget` stands for 'all'). */
  underReplicated (allTarget: number, limit = 1000): JournalRow[] {
    return (this.db.prepare(`SELECT * FROM journal j WHERE state = 'complete' AND
      1 + (SELECT count(*) FROM blob_holders h WHERE h.blob_id = j.blob_id) < ${wantedCopiesSql()} LIMIT ?`)
      .all(allTarget, limit) as unknown as Row[]).map(toRow)
  }

  /** These blobs were deleted by this owner: holders that still keep them may be told to drop them. */
  bury (blobIds: string[], at = Date.now()): void {
    const insert = this.db.prepare('INSERT INTO blob_tombstones (blob_id, at) VALUES (?, ?) ON CONFLICT (blob_id) DO UPDATE SET at = excluded.at')
    for (const id of blobIds) insert.run(id, at)
  }

  isBuried (blobId: string): boolean {
    return this.db.prepare('SELECT 1 FROM blob_tombstones WHERE blob_id = ?').get(blobId) !== undefined
  }

  countTombstones (): number {
    return (this.db.prepare('SELECT count(*) AS n FROM blob_tombstones').get() as { n: number }).n
  }

  /** Forgets tombstones older than `before` (ms since the epoch); returns how many. */
  expireTombstones (before: number): number {
    return Number(this.db.prepare('DELETE FROM blob_tombstones WHERE at < ?').run(before).changes)
  }
}
