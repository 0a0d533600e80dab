// What `recover` learns from the peers' listings, kept in the catalog rather than in memory: a
// member may list any number of IDs (replication/recover.ts bounds how many it may), and a folder
// of hundreds of thousands of blobs must not cost that many strings in the heap either. Scratch
// space of one recover run: emptied when it starts and when it ends.
import type { DatabaseSync } from 'node:sqlite'

/** One listed blob and the peers that listed it. */
export interface ListedBlob { id: string, holders: string[] }

export type RecoverMark = 'deferred' | 'wanted' | 'tree'

// The tables are made by catalog/migrations.ts (version 8).
export class RecoverListing {
  private readonly db: DatabaseSync
  /** Runs its writes in one transaction (Catalog.transaction). */
  private readonly transaction: (fn: () => void) => void

  constructor (db: DatabaseSync, transaction: (fn: () => void) => void) {
    this.db = db
    this.transaction = transaction
  }

  clear (): void {
    this.db.exec('DELETE FROM recover_listed; DELETE FROM recover_marks;')
  }

  /** `peer` listed these IDs (one page of its listing). */
  addListed (peer: string, ids: readonly string[]): void {
    if (ids.length === 0) return
    const insert = this.db.prepare('INSERT OR IGNORE INTO recover_listed (blob_id, peer) VALUES (?, ?)')
    this.transaction(() => { for (const id of ids) insert.run(id, peer) })
  }

  /** Forgets everything `peer` listed. */
  dropPeer (peer: string): void {
    this.db.prepare('DELETE FROM recover_listed WHERE peer = ?').run(peer)
  }

  /** Distinct blobs listed. */
  found (): number {
    return (this.db.prepare('SELECT count(DISTINCT blob_id) AS n FROM recover_listed').get() as { n: number }).n
  }

  /** Up to `limit` listed blobs after `after`, ascending; with `mark`, only blobs that are both 'deferred' and marked so. */
  page (after: string, limit: number, deferredAnd?: RecoverMark): ListedBlob[] {
    const rows = deferredAnd === undefined
      ? this.db.prepare(`SELECT blob_id, group_concat(peer, ' ') AS peers FROM recover_listed
          WHERE blob_id > ? GROUP BY blob_id ORDER BY blob_id LIMIT ?`).all(after, limit)
      : this.db.prepare(`SELECT l.blob_id, group_concat(l.peer, ' ') AS peers FROM recover_listed l
          JOIN recover_marks d ON d.blob_id = l.blob_id AND d.mark = 'deferred'
          JOIN recover_marks m ON m.blob_id = l.blob_id AND m.mark = ?
          WHERE l.blob_id > ? GROUP BY l.blob_id ORDER BY l.blob_id LIMIT ?`).all(deferredAnd, after, limit)
    return (rows as Array<{ blob_id: string, peers: string }>).map(r => ({ id: r.blob_id, holders: r.peers.split(' ') }))
  }

  mark (ids: readonly string[], mark: RecoverMark): void {
    if (ids.length === 0) return
    const insert = this.db.prepare('INSERT OR IGNORE INTO recover_marks (blob_id, mark) VALUES (?, ?)')
    this.transaction(() => { for (const id of ids) insert.run(id, mark) })
  }

  unmark (id: string, mark: RecoverMark): void {
    this.db.prepare('DELETE FROM recover_marks WHERE blob_id = ? AND mark = ?').run(id, mark)
  }

  has (id: string, mark: RecoverMark): boolean {
    return this.db.prepare('SELECT 1 FROM recover_marks WHERE blob_id = ? AND mark = ?').get(id, mark) !== undefined
  }

  /** Up to `limit` blobs marked so, ascending after `after`. */
  marked (mark: RecoverMark, after: string, limit: number): string[] {
    return (this.db.prepare('SELECT blob_id FROM recover_marks WHERE mark = ? AND blob_id > ? ORDER BY blob_id LIMIT ?')
      .all(mark, after, limit) as Array<{ blob_id: string }>).map(r => r.blob_id)
  }

  /** Deferred blobs no manifest wants, per peer that listed them. */
  unreferencedByPeer (): Array<{ peer: string, blobs: number }> {
    return this.db.prepare(`SELECT l.peer AS peer, count(*) AS blobs FROM recover_listed l
      JOIN recover_marks d ON d.blob_id = l.blob_id AND d.mark = 'deferred'
      WHERE NOT EXISTS (SELECT 1 FROM recover_marks w WHERE w.blob_id = l.blob_id AND w.mark = 'wanted')
      GROUP BY l.peer ORDER BY blobs DESC`).all() as Array<{ peer: string, blobs: number }>
  }

  /** Up to `limit` deferred blobs no manifest wants, ascending after `after`. */
  unreferencedIds (after: string, limit: number): string[] {
    return (this.db.prepare(`SELECT blob_id FROM recover_marks d WHERE d.mark = 'deferred' AND d.blob_id > ?
      AND NOT EXISTS (SELECT 1 FROM recover_marks w WHERE w.blob_id = d.blob_id AND w.mark = 'wanted')
      ORDER BY blob_id LIMIT ?`).all(after, limit) as Array<{ blob_id: string }>).map(r => r.blob_id)
  }

  /** How many deferred blobs no manifest wants. */
  unreferenced (): number {
    return (this.db.prepare(`SELECT count(*) AS n FROM recover_marks d WHERE d.mark = 'deferred'
      AND NOT EXISTS (SELECT 1 FROM recover_marks w WHERE w.blob_id = d.blob_id AND w.mark = 'wanted')`).get() as { n: number }).n
  }
}
