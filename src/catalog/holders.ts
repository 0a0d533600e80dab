// Which peers hold a copy of which of the owner's blobs, and which deletions holders still have to
// hear about. The replica count of a file is 1 (the owner) + the fewest holders of any of its blobs.
// The whole-vault reads at the end (copies, holders per file, holdings per peer) are the
// dashboard's: one query each, whatever the file count, so 1,000 files cost about what one does.
import type { DatabaseSync, StatementSync } from 'node:sqlite'

/** Per file: the fewest holders recorded for any of its blobs, and the fewest of those online. */
export interface FileCopies { recorded: number, online: number }

/** What one peer holds for this owner, as recorded: blobs, and the bytes of those that are chunks. */
export interface PeerHoldings { blobs: number, bytes: number }

/** The blobs of every file row: its chunks (a put in progress's too) and, once complete, its manifest. */
const FILE_BLOBS = `SELECT file_row AS row, chunk_id AS blob FROM file_chunks
  UNION SELECT row, file_id FROM files WHERE state = 'complete'`

export class HolderIndex {
  private readonly db: DatabaseSync

  constructor (db: DatabaseSync) {
    this.db = db
  }

  // Prepared once: `add` and `of` run for every blob a put stores, and preparing costs ~100 µs each
  // (a 10,000-file folder's put spent seconds of its main thread there).
  private insertHolder: StatementSync | undefined
  private selectHolders: StatementSync | undefined

  add (blobId: string, peers: string[]): void {
    if (peers.length === 0) return
    this.insertHolder ??= this.db.prepare('INSERT OR IGNORE INTO blob_holders (blob_id, peer) VALUES (?, ?)')
    for (const peer of peers) this.insertHolder.run(blobId, peer)
  }

  of (blobId: string): string[] {
    this.selectHolders ??= this.db.prepare('SELECT peer FROM blob_holders WHERE blob_id = ? ORDER BY peer')
    return (this.selectHolders.all(blobId) as Array<{ peer: string }>).map(r => r.peer)
  }

  /** Forgets every holder of these blobs (they were deleted), returning who held them. */
  drop (blobIds: string[]): Map<string, string[]> {
    const byPeer = new Map<string, string[]>()
    for (const id of blobIds) {
      for (const peer of this.of(id)) byPeer.set(peer, [...(byPeer.get(peer) ?? []), id])
      this.db.prepare('DELETE FROM blob_holders WHERE blob_id = ?').run(id)
    }
    return byPeer
  }

  /** A holder gone for good (away past --repair-after): its copies no longer count. */
  forgetPeer (peer: string): number {
    return Number(this.db.prepare('DELETE FROM blob_holders WHERE peer = ?').run(peer).changes)
  }

  /** One page of the blobs recorded as held by `peer`, ascending, after `after`: audits walk them all. */
  heldBy (peer: string, after = '', limit = 1024): string[] {
    return (this.db.prepare('SELECT blob_id FROM blob_holders WHERE peer = ? AND blob_id > ? ORDER BY blob_id LIMIT ?').all(peer, after, limit) as Array<{ blob_id: string }>).map(r => r.blob_id)
  }

  /** `peer` no longer has these copies (failed audit, reported lost): returns the records removed. */
  dropCopies (peer: string, blobIds: string[]): string[] {
    const del = this.db.prepare('DELETE FROM blob_holders WHERE blob_id = ? AND peer = ?')
    return blobIds.filter(id => Number(del.run(id, peer).changes) > 0)
  }

  peers (): string[] {
    return (this.db.prepare('SELECT DISTINCT peer FROM blob_holders').all() as Array<{ peer: string }>).map(r => r.peer)
  }

  queueDeletes (peer: string, blobIds: string[]): void {
    const insert = this.db.prepare('INSERT OR IGNORE INTO pending_deletes (peer, blob_id) VALUES (?, ?)')
    for (const id of blobIds) insert.run(peer, id)
  }

  pendingDeletes (peer: string, limit = 1024): string[] {
    return (this.db.prepare('SELECT blob_id FROM pending_deletes WHERE peer = ? LIMIT ?').all(peer, limit) as Array<{ blob_id: string }>).map(r => r.blob_id)
  }

  /** Peers that still have deletions to hear about. */
  peersWithPendingDeletes (): string[] {
    return (this.db.prepare('SELECT DISTINCT peer FROM pending_deletes').all() as Array<{ peer: string }>).map(r => r.peer)
  }

  clearDeletes (peer: string, blobIds: string[]): void {
    const del = this.db.prepare('DELETE FROM pending_deletes WHERE peer = ? AND blob_id = ?')
    for (const id of blobIds) del.run(peer, id)
  }

  /** The fewest holders among a file's blobs (its chunks and its manifest). */
  minHolders (fileRow: number, fileId: string): number {
    const row = this.db.prepare(`
      SELECT min(n) AS n FROM (
        SELECT (SELECT count(*) FROM blob_holders h WHERE h.blob_id = c.chunk_id) AS n FROM file_chunks c WHERE c.file_row = ?
        UNION ALL
        SELECT (SELECT count(*) FROM blob_holders h WHERE h.blob_id = ?) AS n
      )`).get(fileRow, fileId) as { n: number | null }
    return row.n ?? 0
  }

  /** Per file row: the fewest recorded holders over its blobs, and the fewest among `online`
   * (node IDs). One query for the whole vault; `online` goes in as a JSON array (json_each). */
  copiesPerFile (online: Iterable<string>): Map<number, FileCopies> {
    const rows = this.db.prepare(`
      WITH online(peer) AS (SELECT value FROM json_each(?)),
      per_blob AS (
        SELECT b.row AS row, COUNT(h.peer) AS recorded, COUNT(o.peer) AS online
        FROM (${FILE_BLOBS}) b LEFT JOIN blob_holders h ON h.blob_id = b.blob LEFT JOIN online o ON o.peer = h.peer
        GROUP BY b.row, b.blob)
      SELECT row, MIN(recorded) AS recorded, MIN(online) AS online FROM per_blob GROUP BY row`).all(JSON.stringify([...online])) as Array<{ row: number, recorded: number, online: number }>
    return new Map(rows.map(r => [Number(r.row), { recorded: Number(r.recorded), online: Number(r.online) }]))
  }

  /** Per file row: every peer recorded as holding any of its blobs, ascending. One query. */
  holdersPerFile (): Map<number, string[]> {
    const rows = this.db.prepare(`SELECT DISTINCT b.row AS row, h.peer AS peer FROM (${FILE_BLOBS}) b
      JOIN blob_holders h ON h.blob_id = b.blob ORDER BY b.row, h.peer`).all() as Array<{ row: number, peer: string }>
    const byFile = new Map<number, string[]>()
    for (const r of rows) {
      const peers = byFile.get(Number(r.row))
      if (peers === undefined) byFile.set(Number(r.row), [r.peer])
      else peers.push(r.peer)
    }
    return byFile
  }

  /** Per peer: the blobs recorded as held and their bytes (a chunk's size; a manifest counts no
   * bytes, its size is not recorded). One query. */
  holdingsPerPeer (): Map<string, PeerHoldings> {
    const rows = this.db.prepare(`
      SELECT h.peer AS peer, COUNT(*) AS blobs, COALESCE(SUM(c.size), 0) AS bytes FROM blob_holders h
      LEFT JOIN (SELECT chunk_id, MAX(size) AS size FROM file_chunks GROUP BY chunk_id) c ON c.chunk_id = h.blob_id
      GROUP BY h.peer`).all() as Array<{ peer: string, blobs: number, bytes: number }>
    return new Map(rows.map(r => [r.peer, { blobs: Number(r.blobs), bytes: Number(r.bytes) }]))
  }
}
