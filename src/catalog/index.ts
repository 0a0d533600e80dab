// catalog/: the embedded SQLite catalog (node:sqlite) of files, chunks, peers and messages.
export { Catalog, type FileRecord } from './catalog.ts'
export { HolderIndex, type FileCopies, type PeerHoldings } from './holders.ts'
export { JournalIndex, type JournalRow, type JournalKind } from './journal.ts'
export { migrateCatalog, catalogVersion, MIGRATIONS, type Migration } from './migrations.ts'
export { SyncIndex, type SyncRecord } from './syncs.ts'
export { ShortfallIndex, type ShortfallRecord, type ShortfallReport } from './shortfalls.ts'
export { RecoverListing, type ListedBlob, type RecoverMark } from './recover-listing.ts'
