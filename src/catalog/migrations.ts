// The catalog's schema, as numbered migrations (syncthing's and Django's way): `PRAGMA
// user_version` says which have run; opening a catalog runs the missing ones in order, each in its
// own transaction, so a data dir made by any earlier release opens in this one with every row kept.
// A catalog from a newer release (a higher version than we know) is refused, never guessed at.
// Add a migration by appending to MIGRATIONS with the next number; never edit one that shipped.
//
// This file is the only one that creates or alters a table in catalog.db. Each table has one owner,
// the module that reads and writes its rows:
//   files, file_chunks                              catalog/catalog.ts
//   blob_holders, pending_deletes                   catalog/holders.ts
//   journal, journal_state, journal_absorbed,
//   blob_tombstones                                 catalog/journal.ts
//   message_log, message_outbox                     messaging/message-store.ts
//   syncs, sync_writer                              catalog/syncs.ts
//   file_shortfalls                                 catalog/shortfalls.ts
//   recover_listed, recover_marks                   catalog/recover-listing.ts
import type { DatabaseSync } from 'node:sqlite'
import { VaultError } from '../errors.ts'

// The DDL of migration 1 as it shipped (it lived in holders.ts and journal.ts until issue 15).
const HOLDERS_SCHEMA = `
CREATE TABLE IF NOT EXISTS blob_holders (
  blob_id TEXT NOT NULL,
  peer TEXT NOT NULL,
  PRIMARY KEY (blob_id, peer)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS blob_holders_by_peer ON blob_holders (peer);
CREATE TABLE IF NOT EXISTS pending_deletes (
  peer TEXT NOT NULL,
  blob_id TEXT NOT NULL,
  PRIMARY KEY (peer, blob_id)
) WITHOUT ROWID;
`

const JOURNAL_SCHEMA = `
CREATE TABLE IF NOT EXISTS journal (
  blob_id TEXT PRIMARY KEY,
  -- the history this blob belongs to (a new disk that has not run recover starts another one)
  line TEXT NOT NULL,
  seq INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('add', 'remove', 'checkpoint')),
  file_id TEXT,
  -- copies wanted, the owner's counted (0 = every peer)
  target INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'complete'))
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS journal_by_seq ON journal (seq);
CREATE TABLE IF NOT EXISTS journal_state (
  key TEXT PRIMARY KEY,
  value NOT NULL
) WITHOUT ROWID;
-- histories merged into this node's own by a checkpoint: their blobs are never replayed again
CREATE TABLE IF NOT EXISTS journal_absorbed (
  line TEXT PRIMARY KEY
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blob_tombstones (
  blob_id TEXT PRIMARY KEY,
  at INTEGER NOT NULL
) WITHOUT ROWID;
`

// catalog/syncs.ts owns these (migration 4).
const SYNCS_SCHEMA = `
CREATE TABLE IF NOT EXISTS syncs (
  name_mac TEXT PRIMARY KEY,
  name_sealed BLOB NOT NULL,
  dir_sealed BLOB NOT NULL,
  replicas INTEGER,
  active INTEGER NOT NULL DEFAULT 1,
  takeover INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  last_stored_at TEXT,
  last_id TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sync_writer (id TEXT NOT NULL);
`

// messaging/message-store.ts created these itself at open until issue 15 (migration 5).
const SHORTFALLS_SCHEMA = `
CREATE TABLE IF NOT EXISTS file_shortfalls (
  file_row INTEGER NOT NULL REFERENCES files (row) ON DELETE CASCADE,
  peer TEXT NOT NULL,
  code TEXT NOT NULL,
  copies INTEGER NOT NULL DEFAULT 1,
  at TEXT NOT NULL,
  PRIMARY KEY (file_row, peer, code)
);
`

const MESSAGES_SCHEMA = `
CREATE TABLE IF NOT EXISTS message_log (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  from_id TEXT NOT NULL,
  to_id TEXT NOT NULL,
  text TEXT NOT NULL,
  at TEXT NOT NULL,
  sig TEXT NOT NULL,
  direction TEXT NOT NULL CHECK (direction IN ('sent', 'received'))
);
CREATE TABLE IF NOT EXISTS message_outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  to_id TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS message_outbox_by_peer ON message_outbox (to_id, seq);
`

export interface Migration {
  version: number
  /** What it does, for the log and for a reader of this list. */
  name: string
  up: (db: DatabaseSync) => void
}

/**
 * 1 is the schema every release before numbered migrations had reached (files, chunks, holders,
 * the journal): written with IF NOT EXISTS, so it also completes a catalog of an older release
 * that lacked some of its tables (the journal ones).
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'files, chunks, holders and journal (the schema before numbered migrations)',
    up: (db) => db.exec(`
CREATE TABLE IF NOT EXISTS files (
  row INTEGER PRIMARY KEY,
  file_id TEXT UNIQUE,
  name_mac TEXT,
  name_sealed BLOB,
  size INTEGER NOT NULL DEFAULT 0,
  mtime TEXT,
  ctime TEXT,
  replicas INTEGER NOT NULL DEFAULT 1,
  target INTEGER NOT NULL DEFAULT 1,
  state TEXT NOT NULL CHECK (state IN ('pending', 'complete'))
);
CREATE INDEX IF NOT EXISTS files_by_name ON files (name_mac);
CREATE TABLE IF NOT EXISTS file_chunks (
  file_row INTEGER NOT NULL REFERENCES files (row) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  chunk_id TEXT NOT NULL,
  size INTEGER NOT NULL,
  PRIMARY KEY (file_row, seq)
);
CREATE INDEX IF NOT EXISTS file_chunks_by_chunk ON file_chunks (chunk_id);
` + HOLDERS_SCHEMA + JOURNAL_SCHEMA)
  },
  {
    version: 2,
    name: 'file versions: every put of a name is kept, listed per name in time order',
    // A name's versions are its complete rows ordered by ctime (docs/DECISIONS.md "Versions"); this
    // index answers "the newest of each name" and "the versions of a name" without a scan.
    up: (db) => db.exec('CREATE INDEX IF NOT EXISTS files_by_name_ctime ON files (name_mac, state, ctime, row);')
  },
  {
    version: 3,
    name: 'folders: a row is a file or a tree, and a tree counts its files',
    up: (db) => db.exec(`
ALTER TABLE files ADD COLUMN kind TEXT NOT NULL DEFAULT 'file' CHECK (kind IN ('file', 'tree'));
ALTER TABLE files ADD COLUMN file_count INTEGER NOT NULL DEFAULT 1;
`)
  },
  {
    version: 4,
    name: 'folder syncs: the folders this node keeps stored, resumed at start, and its sync writer ID',
    up: (db) => db.exec(SYNCS_SCHEMA)
  },
  {
    version: 5,
    name: 'messages: the log and the outbox, created by the message store itself before (sealed texts column included)',
    // A catalog of any earlier release may have these tables (a node created them when it started),
    // with or without text_sealed (added when texts were sealed at rest), or not at all.
    up: (db) => {
      db.exec(MESSAGES_SCHEMA)
      const columns = db.prepare('PRAGMA table_info(message_log)').all() as Array<{ name: string }>
      if (!columns.some(c => c.name === 'text_sealed')) db.exec('ALTER TABLE message_log ADD COLUMN text_sealed BLOB')
    }
  },
  {
    version: 6,
    name: 'shortfalls: why a file has fewer copies than it wants (a holder refused, or no peer), per file',
    up: (db) => db.exec(SHORTFALLS_SCHEMA)
  },
  {
    version: 7,
    name: 'messages: an ID is unique per sender, not across senders (a member cannot take another sender\'s message ID)',
    // A message's ID is its sender's choice: with UNIQUE (id) a member that saw an ID (every member
    // sees every message to all) could send its own message under it first, and the genuine one was
    // taken for a redelivery and dropped. SQLite cannot change a constraint in place: the table is
    // copied (seq values kept, so the AUTOINCREMENT counter goes on from the highest). With
    // secure_delete on: the old table's pages may hold texts an older release kept in clear, and a
    // dropped table's pages would otherwise stay on the free list as they were.
    up: (db) => {
      const { secure_delete: secureDelete } = db.prepare('PRAGMA secure_delete').get() as { secure_delete: number }
      db.exec('PRAGMA secure_delete = ON')
      try {
        db.exec(`
CREATE TABLE message_log_v7 (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL,
  from_id TEXT NOT NULL,
  to_id TEXT NOT NULL,
  text TEXT NOT NULL,
  at TEXT NOT NULL,
  sig TEXT NOT NULL,
  direction TEXT NOT NULL CHECK (direction IN ('sent', 'received')),
  text_sealed BLOB,
  UNIQUE (from_id, id)
);
INSERT INTO message_log_v7 (seq, id, from_id, to_id, text, at, sig, direction, text_sealed)
  SELECT seq, id, from_id, to_id, text, at, sig, direction, text_sealed FROM message_log;
DROP TABLE message_log;
ALTER TABLE message_log_v7 RENAME TO message_log;
`)
      } finally {
        db.exec(`PRAGMA secure_delete = ${Math.trunc(secureDelete)}`)
      }
    }
  },
  {
    version: 8,
    name: 'recover: what each peer listed, on disk rather than in memory, and what the manifests found so far want',
    // A member could list an endless ascending sequence of IDs; kept in a Map, the owner's memory
    // grew with it. Both tables are scratch space of one `recover` run (emptied at its start and end).
    up: (db) => db.exec(`
CREATE TABLE recover_listed (
  blob_id TEXT NOT NULL,
  peer TEXT NOT NULL,
  PRIMARY KEY (blob_id, peer)
) WITHOUT ROWID;
CREATE TABLE recover_marks (
  blob_id TEXT NOT NULL,
  -- deferred: fetched, not the owner's history, and no manifest found so far names it (not written)
  -- wanted: a chunk a manifest of the owner names; tree: a folder manifest whose listing names more
  mark TEXT NOT NULL CHECK (mark IN ('deferred', 'wanted', 'tree')),
  PRIMARY KEY (blob_id, mark)
) WITHOUT ROWID;
`)
  }
]

export function catalogVersion (db: DatabaseSync): number {
  return (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version
}

/** Brings the catalog to the newest schema; returns the versions before and after. */
export function migrateCatalog (db: DatabaseSync, migrations: readonly Migration[] = MIGRATIONS): { from: number, to: number } {
  const from = catalogVersion(db)
  const newest = migrations.at(-1)?.version ?? 0
  if (from > newest) {
    throw new VaultError('CORRUPT', `the catalog was written by a newer release (schema ${from}; this one knows up to ${newest}): run that release, or move catalog.db away to rebuild it from the sealed manifests`)
  }
  for (const m of migrations) {
    if (m.version <= from) continue
    db.exec('BEGIN IMMEDIATE')
    try {
      m.up(db)
      // PRAGMA takes no parameters; the version is one of our own integers.
      db.exec(`PRAGMA user_version = ${Math.trunc(m.version)}`)
      db.exec('COMMIT')
    } catch (err) {
      if (db.isTransaction) db.exec('ROLLBACK')
      throw err
    }
  }
  return { from, to: Math.max(from, newest) }
}
