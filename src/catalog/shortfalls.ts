// Why a file has fewer copies than it wants, as the last put or repair pass of it saw: each holder
// that refused a copy (with its code: DISK_FULL, STORAGE_FULL, BUSY, TIMEOUT…) and the copies no
// peer was there to take (NO_PEERS), each with when. The dashboard tells "refused" apart from
// "never placed" and "holder offline" with it. A file that reaches its target has no rows.
import type { DatabaseSync, StatementSync } from 'node:sqlite'

/** One blob's missing copies (the shape replication/ reports, files/ BlobShortfall). */
export interface ShortfallReport { refused: Array<{ peer: string, code: string }>, noPeers: number }

/** A reason recorded for a file: a peer's refusal, or (peer '') copies that had no peer to go to. */
export interface ShortfallRecord { peer: string, code: string, copies: number, at: string }

// The table is made by catalog/migrations.ts (version 6).
export class ShortfallIndex {
  private readonly db: DatabaseSync
  private insert: StatementSync | undefined

  constructor (db: DatabaseSync) {
    this.db = db
  }

  /** The file's reasons become these blobs' (none: the file lacks nothing, or nothing is known). */
  replace (fileRow: number, reports: ShortfallReport[], at = new Date()): void {
    const when = at.toISOString()
    const rows = new Map<string, ShortfallRecord>()
    let noPeers = 0
    for (const r of reports) {
      for (const { peer, code } of r.refused) rows.set(`${peer}\n${code}`, { peer, code, copies: 1, at: when })
      noPeers = Math.max(noPeers, r.noPeers)
    }
    if (noPeers > 0) rows.set('\nNO_PEERS', { peer: '', code: 'NO_PEERS', copies: noPeers, at: when })
    this.insert ??= this.db.prepare('INSERT OR REPLACE INTO file_shortfalls (file_row, peer, code, copies, at) VALUES (?, ?, ?, ?, ?)')
    this.db.prepare('DELETE FROM file_shortfalls WHERE file_row = ?').run(fileRow)
    for (const r of rows.values()) this.insert.run(fileRow, r.peer, r.code.slice(0, 40), r.copies, r.at)
  }

  /** Every file's recorded reasons, by row: one query for the whole vault. */
  all (): Map<number, ShortfallRecord[]> {
    const rows = this.db.prepare('SELECT file_row AS row, peer, code, copies, at FROM file_shortfalls ORDER BY file_row, peer, code').all() as unknown as Array<ShortfallRecord & { row: number }>
    const byFile = new Map<number, ShortfallRecord[]>()
    for (const { row, ...r } of rows) {
      const list = byFile.get(row) ?? []
      list.push({ ...r, copies: Number(r.copies) })
      byFile.set(row, list)
    }
    return byFile
  }
}
