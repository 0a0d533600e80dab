// The table of synced folders, shown by `sync --list` and by `status`: a module of its own so that
// `status` does not load the sync verb (and the flag parsers it imports) to print it.
import type { SyncView } from '../sync/index.ts'
import { escapeControls, formatTable } from './output.ts'

const when = (iso: string | null): string => iso === null ? '-' : iso.slice(0, 19).replace('T', ' ')

/** The table of `sync --list`, also printed by `status`. */
export function formatSyncs (syncs: SyncView[]): string {
  return formatTable(['NAME', 'STATE', 'LAST STORED', 'VERSION', 'PENDING', 'FOLDER'],
    syncs.map(s => [escapeControls(s.name), s.state, when(s.lastStoredAt), s.lastVersion === null ? '-' : String(s.lastVersion), String(s.pendingChanges), escapeControls(s.dir)])) +
    syncs.filter(s => s.lastError !== null).map(s => `\n${s.name}: ${escapeControls(s.lastError!)}`).join('')
}
