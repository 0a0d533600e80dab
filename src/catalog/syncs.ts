// The folder syncs this node runs (sync/): which folder is kept stored under which name, whether
// it is active, what it stored last, and this catalog's sync writer ID. Names and folders are
// sealed like file names (the data dir reveals neither), looked up by the names' HMAC.
import { randomBytes } from 'node:crypto'
import type { DatabaseSync } from 'node:sqlite'

export interface SyncRecord {
  name: string
  dir: string
  /** Copies wanted, the owner's counted (0 = every peer); null = the node's default. */
  replicas: number | null
  active: boolean
  /** Given --takeover: the next version is stored even if another writer's is the newest. */
  takeover: boolean
  createdAt: string
  lastStoredAt: string | null
  lastId: string | null
}

interface SyncRow { name_sealed: Uint8Array, dir_sealed: Uint8Array, replicas: number | null, active: number, takeover: number, created_at: string, last_stored_at: string | null, last_id: string | null }

/** How the catalog seals and looks up names (its name key). */
export interface NameSealing {
  mac: (text: string) => string
  seal: (text: string) => Uint8Array
  open: (sealed: Uint8Array) => string
}

export class SyncIndex {
  private readonly db: DatabaseSync
  private readonly names: NameSealing

  constructor (db: DatabaseSync, names: NameSealing) {
    this.db = db
    this.names = names
  }

  /** This catalog's writer ID, made on first use: what the versions its syncs store carry. */
  writerId (): string {
    const row = this.db.prepare('SELECT id FROM sync_writer LIMIT 1').get() as { id: string } | undefined
    if (row !== undefined) return row.id
    const id = randomBytes(16).toString('hex')
    this.db.prepare('INSERT INTO sync_writer (id) VALUES (?)').run(id)
    return id
  }

  /** Adds or replaces the registration of a name (a stopped one is replaced by a new sync). */
  save (record: SyncRecord): void {
    this.db.prepare(`INSERT OR REPLACE INTO syncs (name_mac, name_sealed, dir_sealed, replicas, active, takeover, created_at, last_stored_at, last_id)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(this.names.mac(record.name), this.names.seal(record.name), this.names.seal(record.dir), record.replicas,
      record.active ? 1 : 0, record.takeover ? 1 : 0, record.createdAt, record.lastStoredAt, record.lastId)
  }

  get (name: string): SyncRecord | undefined {
    const row = this.db.prepare('SELECT * FROM syncs WHERE name_mac = ?').get(this.names.mac(name)) as SyncRow | undefined
    return row === undefined ? undefined : this.toRecord(row)
  }

  list (): SyncRecord[] {
    const rows = this.db.prepare('SELECT * FROM syncs').all() as unknown as SyncRow[]
    return rows.map(r => this.toRecord(r)).sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  }

  setActive (name: string, active: boolean): void {
    this.db.prepare('UPDATE syncs SET active = ? WHERE name_mac = ?').run(active ? 1 : 0, this.names.mac(name))
  }

  /** A version was stored: remembered (and any takeover is done with). */
  stored (name: string, fileId: string, at: string): void {
    this.db.prepare('UPDATE syncs SET last_id = ?, last_stored_at = ?, takeover = 0 WHERE name_mac = ?').run(fileId, at, this.names.mac(name))
  }

  private toRecord (r: SyncRow): SyncRecord {
    return {
      name: this.names.open(r.name_sealed),
      dir: this.names.open(r.dir_sealed),
      replicas: r.replicas,
      active: r.active === 1,
      takeover: r.takeover === 1,
      createdAt: r.created_at,
      lastStoredAt: r.last_stored_at,
      lastId: r.last_id
    }
  }
}
