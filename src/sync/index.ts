// sync/: folders kept continuously stored, as new versions of their tree (`sync DIR`).
export { FolderSyncs, type FolderSyncsOptions, type SyncRequest } from './folder-syncs.ts'
export { DEFAULT_SYNC_TIMING, type SyncState, type SyncTiming, type SyncView } from './folder-sync.ts'
export { ChangeDebouncer, type Clock, type DebounceOptions } from './debounce.ts'
