// The owner's catalog in embedded SQLite (node:sqlite): which files exist and which chunks each
// uses. It never holds a name or a key in clear: names are sealed with a key derived from the
// vault key and looked up by HMAC, keys stay inside the sealed manifests. Everything here can be
// rebuilt from the manifests in storage/<own id>/ (see files/rebuild.ts).
import { DatabaseSync, type StatementSync } from 'node:sqlite'
import { createHmac } from 'node:crypto'
import { deriveKey, open, seal } from '../crypto/index.ts'
import { HolderIndex } from './holders.ts'
import { migrateCatalog } from './migrations.ts'
import { JournalIndex } from './journal.ts'
import { SyncIndex } from './syncs.ts'
import { ShortfallIndex } from './shortfalls.ts'
import { RecoverListing } from './recover-listing.ts'
import { STORED_ALL, storedTarget, targetFromStored, wantedCopiesSql, type ReplicaTarget } from '../redundancy/index.ts'

export interface FileRecord {
  row: number
  id: string
  name: string
  size: number
  mtime: string
  ctime: string
  replicas: number
  /** Copies wanted, the owner's counted (stored as redundancy/ says). */
  target: ReplicaTarget
  /** How many versions its name has (set by list(), the newest of each name). */
  versions?: number
  /** A file, or a folder (its size is its files' total). Absent means a file. */
  kind?: 'file' | 'tree'
  /** Files in it: 1 for a file. */
  files?: number
}

interface FileRow { row: number, file_id: string, name_sealed: Uint8Array, size: number, mtime: string, ctime: string, replicas: number, target: number, kind: 'file' | 'tree', file_count: number, versions?: number }

/** The newer versions of the row `files` (same name; later ctime, or the same ctime and a later row). */
const NEWER_OF_SAME_NAME = `SELECT 1 FROM files newer WHERE newer.state = 'complete' AND newer.name_mac = files.name_mac
  AND (newer.ctime > files.ctime OR (newer.ctime = files.ctime AND newer.row > files.row))`

// Per connection. NORMAL: in WAL mode a commit survives a crash of the process but may be lost on
// power loss. The commits a user relies on (a file completed, a file removed) are made FULL by
// durably(); the rest (a put's chunk rows, message history) can be redone or are cleaned up after
// a crash. The tables themselves are made and changed by the numbered migrations (migrations.ts).
const CONNECTION_PRAGMAS = `
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA foreign_keys = ON;
`

export class Catalog {
  readonly db: DatabaseSync
  readonly holders: HolderIndex
  readonly journal: JournalIndex
  readonly syncs: SyncIndex
  readonly shortfalls: ShortfallIndex
  readonly recoverListing: RecoverListing
  private insertChunk: StatementSync | undefined
  private readonly nameKey: Buffer

  constructor (path: string, vaultKey: Uint8Array) {
    this.db = new DatabaseSync(path)
    this.db.exec(CONNECTION_PRAGMAS)
    migrateCatalog(this.db)
    this.holders = new HolderIndex(this.db)
    this.journal = new JournalIndex(this.db)
    this.shortfalls = new ShortfallIndex(this.db)
    this.recoverListing = new RecoverListing(this.db, (fn) => { this.transaction(fn) })
    this.nameKey = deriveKey(vaultKey, 'distri-vault/catalog/v1', 'names')
    this.syncs = new SyncIndex(this.db, {
      mac: (text) => this.nameMac(text),
      seal: (text) => seal(this.nameKey, Buffer.from(text)),
      open: (sealed) => open(this.nameKey, sealed).toString('utf8')
    })
  }

  close (): void {
    if (this.db.isOpen) this.db.close()
  }

  private nameMac (name: string): string {
    return createHmac('sha256', this.nameKey).update(name).digest('hex')
  }

  /** Names already opened, by row (checked against the sealed bytes): `ls` of 1,000 files spent most
   * of its time in 1,000 AES-GCM opens. Bounded; cleared when full. */
  private readonly openedNames = new Map<number, { sealed: Uint8Array, name: string }>()

  private nameOf (r: FileRow): string {
    const hit = this.openedNames.get(r.row)
    if (hit !== undefined && Buffer.compare(hit.sealed, r.name_sealed) === 0) return hit.name
    const name = open(this.nameKey, r.name_sealed).toString('utf8')
    if (this.openedNames.size >= 100_000) this.openedNames.clear()
    this.openedNames.set(r.row, { sealed: r.name_sealed, name })
    return name
  }

  private toRecord (r: FileRow): FileRecord {
    const name = this.nameOf(r)
    const record: FileRecord = { row: r.row, id: r.file_id, name, size: r.size, mtime: r.mtime, ctime: r.ctime, replicas: r.replicas, target: targetFromStored(r.target), kind: r.kind, files: r.file_count }
    if (r.versions !== undefined) record.versions = r.versions
    return record
  }

  /** A put in progress: its chunks count as referenced (so a concurrent rm keeps them) until it ends. */
  beginFile (): number {
    const res = this.db.prepare("INSERT INTO files (state) VALUES ('pending')").run()
    return Number(res.lastInsertRowid)
  }

  /** Claims a chunk for a put in progress: visible at once (rm's garbage collection sees it), not
   * synced (after a crash the pending file is dropped and its blobs are collected anyway). */
  addChunk (row: number, seq: number, chunkId: string, size: number): void {
    this.insertChunk ??= this.db.prepare('INSERT INTO file_chunks (file_row, seq, chunk_id, size) VALUES (?, ?, ?, ?)')
    this.insertChunk.run(row, seq, chunkId, size)
  }

  /** Many chunks of a put in progress claimed in one transaction (a folder's small files: no
   * transaction per file). Same visibility and durability as addChunk. */
  addChunks (row: number, chunks: Array<{ seq: number, id: string, size: number }>): void {
    this.transaction(() => { for (const c of chunks) this.addChunk(row, c.seq, c.id, c.size) })
  }

  /** The manifest of a put in progress, claimed before it is written, so a crash or a sweep knows it. */
  claimManifest (row: number, fileId: string): void {
    this.db.prepare('UPDATE files SET file_id = ? WHERE row = ?').run(fileId, row)
  }

  /** The put is done: this commit is synced, so a file reported stored stays listed. */
  completeFile (row: number, file: Omit<FileRecord, 'row'>): void {
    this.durably(() => this.db.prepare(`UPDATE files SET file_id = ?, name_mac = ?, name_sealed = ?, size = ?, mtime = ?, ctime = ?, replicas = ?, target = ?, kind = ?, file_count = ?, state = 'complete' WHERE row = ?`)
      .run(file.id, this.nameMac(file.name), seal(this.nameKey, Buffer.from(file.name)), file.size, file.mtime, file.ctime, file.replicas, storedTarget(file.target), file.kind ?? 'file', file.files ?? 1, row))
  }

  /** Runs `fn` with synchronous = FULL: its commit (and every WAL frame before it) is fsynced. */
  durably<T> (fn: () => T): T {
    // Inside a transaction the level cannot change: the enclosing commit decides (rebuild's inserts).
    if (this.db.isTransaction) return fn()
    this.db.exec('PRAGMA synchronous = FULL')
    try {
      return fn()
    } finally {
      this.db.exec('PRAGMA synchronous = NORMAL')
    }
  }

  /** Adds a whole known file at once (catalog rebuild). */
  insertFile (file: Omit<FileRecord, 'row'>, chunks: Array<{ id: string, size: number }>): number {
    return this.transaction(() => {
      const row = this.beginFile()
      chunks.forEach((c, seq) => this.addChunk(row, seq, c.id, c.size))
      this.completeFile(row, file)
      return row
    })
  }

  /** Deletes a file row; returns the chunk IDs that no file (complete or pending) references any more. */
  deleteFile (row: number): string[] {
    return this.durably(() => this.transaction(() => {
      const chunks = this.db.prepare('SELECT DISTINCT chunk_id FROM file_chunks WHERE file_row = ?').all(row) as Array<{ chunk_id: string }>
      this.db.prepare('DELETE FROM files WHERE row = ?').run(row)
      const stillUsed = this.db.prepare('SELECT 1 FROM file_chunks WHERE chunk_id = ? LIMIT 1')
      return chunks.map(c => c.chunk_id).filter(id => stillUsed.get(id) === undefined)
    }))
  }

  /** The IDs of every complete file, ascending (what a journal checkpoint lists). */
  fileIds (): string[] {
    return (this.db.prepare("SELECT file_id FROM files WHERE state = 'complete' ORDER BY file_id").all() as Array<{ file_id: string }>).map(r => r.file_id)
  }

  /** The widest copy target of any file (1 when there is no file). */
  widestTarget (): ReplicaTarget {
    const row = this.db.prepare(`SELECT min(target) AS lo, max(target) AS hi FROM files WHERE state = 'complete'`).get() as { lo: number | null, hi: number | null }
    return row.lo === STORED_ALL ? 'all' : (row.hi ?? 1)
  }

  /** The file ID (manifest) of a row, once claimed. */
  fileIdOf (row: number): string | undefined {
    return (this.db.prepare('SELECT file_id FROM files WHERE row = ?').get(row) as { file_id: string | null } | undefined)?.file_id ?? undefined
  }

  /** The row of a file by its full ID, complete or pending. */
  rowOf (fileId: string): number | undefined {
    return (this.db.prepare('SELECT row FROM files WHERE file_id = ?').get(fileId) as { row: number } | undefined)?.row
  }

  /** Rows of puts that never finished (a crash): their chunk IDs are returned for cleanup. */
  dropPending (): string[] {
    const rows = this.db.prepare("SELECT row FROM files WHERE state = 'pending'").all() as Array<{ row: number }>
    return rows.flatMap(r => this.deleteFile(r.row))
  }

  setReplicas (row: number, replicas: number): void {
    this.db.prepare('UPDATE files SET replicas = ? WHERE row = ?').run(replicas, row)
  }

  /** One record per name, its newest version, with the name's count of versions. */
  list (): FileRecord[] {
    const rows = this.db.prepare(`SELECT *, (SELECT count(*) FROM files older WHERE older.state = 'complete' AND older.name_mac = files.name_mac) AS versions
      FROM files WHERE state = 'complete' AND NOT EXISTS (${NEWER_OF_SAME_NAME})`).all() as unknown as FileRow[]
    return rows.map(r => this.toRecord(r)).sort((a, b) => a.name.localeCompare(b.name))
  }

  /** The row and copy target of each name's newest version, names left sealed (list() opens
   * them): the dashboard's redundancy counts stay cheap however many files there are. */
  newestTargets (): Array<{ row: number, target: ReplicaTarget }> {
    const rows = this.db.prepare(`SELECT row, target FROM files WHERE state = 'complete' AND NOT EXISTS (${NEWER_OF_SAME_NAME})`).all() as Array<{ row: number, target: number }>
    return rows.map(r => ({ row: Number(r.row), target: targetFromStored(r.target) }))
  }

  /** Every complete file, each version of each name (prune's input). */
  listAllVersions (): FileRecord[] {
    const rows = this.db.prepare("SELECT * FROM files WHERE state = 'complete' ORDER BY ctime, row").all() as unknown as FileRow[]
    return rows.map(r => this.toRecord(r))
  }

  /** The newest version of a name. */
  byName (name: string): FileRecord | undefined {
    const r = this.db.prepare("SELECT * FROM files WHERE state = 'complete' AND name_mac = ? ORDER BY ctime DESC, row DESC LIMIT 1").get(this.nameMac(name)) as FileRow | undefined
    return r ? this.toRecord(r) : undefined
  }

  /** Every version of a name, oldest first (version 1 is the first). */
  versionsOf (name: string): FileRecord[] {
    const rows = this.db.prepare("SELECT * FROM files WHERE state = 'complete' AND name_mac = ? ORDER BY ctime, row").all(this.nameMac(name)) as unknown as FileRow[]
    return rows.map(r => this.toRecord(r))
  }

  /** The bytes of the chunks that only `rows` use (what removing them all frees), each chunk once. */
  exclusiveChunkBytes (rows: number[]): number {
    if (rows.length === 0) return 0
    const list = rows.map(r => Math.trunc(r)).join(',')
    const row = this.db.prepare(`SELECT coalesce(sum(size), 0) AS bytes FROM (SELECT chunk_id, max(size) AS size FROM file_chunks
      WHERE file_row IN (${list}) GROUP BY chunk_id) mine
      WHERE NOT EXISTS (SELECT 1 FROM file_chunks other WHERE other.chunk_id = mine.chunk_id AND other.file_row NOT IN (${list}))`).get() as { bytes: number }
    return row.bytes
  }

  /** By full file ID or an unambiguous prefix of at least 8 hex digits. */
  byId (idOrPrefix: string): FileRecord[] {
    if (!/^[0-9a-f]{8,64}$/.test(idOrPrefix)) return []
    const rows = this.db.prepare("SELECT * FROM files WHERE state = 'complete' AND file_id LIKE ? LIMIT 2").all(`${idOrPrefix}%`) as unknown as FileRow[]
    return rows.map(r => this.toRecord(r))
  }

  chunksOf (row: number): Array<{ id: string, size: number }> {
    return (this.db.prepare('SELECT chunk_id, size FROM file_chunks WHERE file_row = ? ORDER BY seq').all(row) as Array<{ chunk_id: string, size: number }>)
      .map(c => ({ id: c.chunk_id, size: c.size }))
  }

  isReferenced (blobId: string): boolean {
    return this.db.prepare('SELECT 1 FROM file_chunks WHERE chunk_id = ? UNION ALL SELECT 1 FROM files WHERE file_id = ? UNION ALL SELECT 1 FROM journal WHERE blob_id = ? LIMIT 1').get(blobId, blobId, blobId) !== undefined
  }

  countFiles (): number {
    return (this.db.prepare("SELECT count(*) AS n FROM files WHERE state = 'complete'").get() as { n: number }).n
  }

  countPending (): number {
    return (this.db.prepare("SELECT count(*) AS n FROM files WHERE state = 'pending'").get() as { n: number }).n
  }

  /**
   * Keeps only the newest file of each name (rows of older versions are dropped, blobs kept): for a
   * catalog rebuilt from a vault older than the journal, whose releases kept one version per name.
   */
  dropShadowedNames (): void {
    this.db.prepare(`DELETE FROM files WHERE state = 'complete' AND EXISTS (${NEWER_OF_SAME_NAME})`).run()
  }

  /** Files below their copy target; a target of 'all' stands for `allTarget` copies. */
  countUnderReplicated (allTarget = 1): number {
    return (this.db.prepare(`SELECT count(*) AS n FROM files WHERE state = 'complete' AND replicas < ${wantedCopiesSql()}`).get(allTarget) as { n: number }).n
  }

  underReplicated (allTarget = 1, limit = 1000): FileRecord[] {
    const rows = this.db.prepare(`SELECT * FROM files WHERE state = 'complete' AND replicas < ${wantedCopiesSql()} LIMIT ?`).all(allTarget, limit) as unknown as FileRow[]
    return rows.map(r => this.toRecord(r))
  }

  /** Recomputes every file's replica count (after holders were forgotten). */
  refreshAllReplicas (): void {
    const rows = this.db.prepare("SELECT row, file_id FROM files WHERE state = 'complete'").all() as Array<{ row: number, file_id: string }>
    this.transaction(() => { for (const r of rows) this.setReplicas(r.row, 1 + this.holders.minHolders(r.row, r.file_id)) })
  }

  /** Recomputes a file's replica count from who holds its blobs. */
  refreshReplicas (record: FileRecord): number {
    const replicas = 1 + this.holders.minHolders(record.row, record.id)
    if (replicas !== record.replicas) this.setReplicas(record.row, replicas)
    return replicas
  }

  /** Runs `fn` in one transaction; inside another, it joins it (the outer commit decides). */
  transaction<T> (fn: () => T): T {
    if (this.db.isTransaction) return fn()
    this.db.exec('BEGIN IMMEDIATE')
    try {
      const out = fn()
      this.db.exec('COMMIT')
      return out
    } catch (err) {
      // SQLite may have rolled back on its own (SQLITE_FULL can end the transaction): a second
      // ROLLBACK would fail and hide the real error.
      if (this.db.isTransaction) this.db.exec('ROLLBACK')
      throw err
    }
  }
}
