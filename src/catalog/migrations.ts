// The catalog's schema, as numbered migrations (syncthing's and Django's way): `PRAGMA
// user_version` says which have run; opening a catalog runs the missing ones in order, each in its
// own transaction, so a data dir made by any earlier release opens in this one with every row kept.
// A catalog from a newer release (a higher version than we know) is refused, never guessed at.
// Add a migration by appending to MIGRATIONS with the next number; never edit one that shipped.
import type { DatabaseSync } from 'node:sqlite'
import { VaultError } from '../errors.ts'
import { HOLDERS_SCHEMA } from './holders.ts'
import { JOURNAL_SCHEMA } from './journal.ts'
import { SYNCS_SCHEMA } from './syncs.ts'

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
