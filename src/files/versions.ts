// The versions of a name: every put of a name is kept as one more version (a file of its own, with
// its own file ID), numbered from 1 = the oldest in the order they were stored (ctime). Picks one
// by number or by time, and says clearly when there is no such version.
import type { FileRecord } from '../catalog/index.ts'
import { VaultError } from '../errors.ts'

/** Which version of a name: its number (1 = oldest) or the newest stored at or before a time. */
export interface VersionPick { version?: number, at?: Date }

export interface VersionView { version: number, id: string, size: number, mtime: string, ctime: string, replicas: number }

export function versionViews (versions: FileRecord[]): VersionView[] {
  return versions.map((v, i) => ({ version: i + 1, id: v.id, size: v.size, mtime: v.mtime, ctime: v.ctime, replicas: v.replicas }))
}

/**
 * When a new version of a name is stored: now, or 1 ms after the name's newest version when the
 * clock reads earlier (set back, or corrected after running ahead). Versions are ordered by this
 * time, also in a catalog rebuilt from the manifests, so a put must always be the newest: with the
 * clock's time alone, `get` gave the older bytes and `prune --keep-last 1` deleted the put just made.
 */
export function versionTime (newest: Pick<FileRecord, 'ctime'> | undefined, now = new Date()): string {
  const after = newest === undefined ? -Infinity : Date.parse(newest.ctime) + 1
  return new Date(Math.max(now.getTime(), after)).toISOString()
}

/** `versions` is a name's versions, oldest first. */
export function pickVersion (name: string, versions: FileRecord[], pick: VersionPick): FileRecord {
  const see = `see "distri-vault versions ${name}"`
  if (pick.version !== undefined) {
    const found = versions[pick.version - 1]
    if (found === undefined) throw new VaultError('NOT_FOUND', `"${name}" has no version ${pick.version}: it has ${versions.length} (${see})`)
    return found
  }
  if (pick.at !== undefined) {
    const at = pick.at.getTime()
    const found = versions.findLast(v => Date.parse(v.ctime) <= at)
    if (found === undefined) throw new VaultError('NOT_FOUND', `"${name}" has no version stored at or before ${pick.at.toISOString()}: the oldest is from ${versions[0]?.ctime ?? 'never'} (${see})`)
    return found
  }
  const newest = versions.at(-1)
  if (newest === undefined) throw new VaultError('NOT_FOUND', `no file named "${name}"`)
  return newest
}

/**
 * `--at` as a user writes it: an ISO time (with or without an offset; without one it is this
 * machine's local time), or a date alone (YYYY-MM-DD), which means the end of that day in UTC: the
 * version a user had that day.
 */
export function parseVersionTime (text: string): Date {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(text)
  const at = new Date(dateOnly ? `${text}T23:59:59.999Z` : text)
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(at.getTime())) {
    throw new VaultError('BAD_INPUT', `"${text}" is not a time: give an ISO time (2026-11-30T14:05:00Z) or a date (2026-11-30)`)
  }
  return at
}
