// prune: drops old versions by a retention policy, restic's `forget --prune` semantics: a version
// is kept when any rule keeps it, and the newest version of every name is always kept. Each dropped
// version is removed as rm removes a file (a journal remove record first, then its unshared blobs
// here and on every holder), so recover never brings it back.
import type { FileRecord } from '../catalog/index.ts'
import { VaultError } from '../errors.ts'
import type { VaultContext } from './vault-context.ts'
import { removeFileRecord } from './remove.ts'

export interface PrunePolicy {
  /** The newest N versions of each name. */
  keepLast?: number
  /** For the last D days (UTC) that have versions, the newest version of each day. */
  keepDaily?: number
  /** For the last W ISO weeks (UTC) that have versions, the newest version of each week. */
  keepWeekly?: number
}

export interface PruneOptions extends PrunePolicy {
  /** Only these names (default: every name). */
  names?: string[]
  /** Say what would go, remove nothing. */
  dryRun?: boolean
}

export interface PrunedVersion { name: string, version: number, id: string, size: number, ctime: string }

export interface PruneResult {
  /** Versions kept and dropped (to be dropped, with dryRun), over all the names looked at. */
  kept: number
  dropped: number
  /** Bytes of the chunks that no kept file uses (plaintext sizes, each chunk once). */
  bytesFreed: number
  dryRun: boolean
  droppedVersions: PrunedVersion[]
}

const dayOf = (ctime: string): string => ctime.slice(0, 10)

/** ISO 8601 week (UTC), e.g. "2026-W48": weeks start on Monday; week 1 holds the year's first Thursday. */
function weekOf (ctime: string): string {
  const t = new Date(Date.parse(ctime))
  const d = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate()))
  d.setUTCDate(d.getUTCDate() + 4 - (d.getUTCDay() === 0 ? 7 : d.getUTCDay())) // that week's Thursday
  const week = Math.ceil(((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000 + 1) / 7)
  return `${d.getUTCFullYear()}-W${String(week).padStart(2, '0')}`
}

/**
 * Which of a name's versions (oldest first) the policy keeps: the indexes kept. Walking from the
 * newest, keep-last keeps the first N, keep-daily/weekly the first (newest) of each of the first
 * D days/W weeks met, as restic counts them.
 */
export function keptVersions (versions: Array<{ ctime: string }>, policy: PrunePolicy): Set<number> {
  const kept = new Set<number>()
  if (versions.length === 0) return kept
  kept.add(versions.length - 1)
  const buckets: Array<{ left: number, of: (ctime: string, index: number) => string | number, last?: string | number }> = [
    { left: policy.keepLast ?? 0, of: (_ctime, index) => index }, // every version is a bucket of its own
    { left: policy.keepDaily ?? 0, of: dayOf },
    { left: policy.keepWeekly ?? 0, of: weekOf }
  ]
  for (let i = versions.length - 1; i >= 0; i--) {
    for (const bucket of buckets) {
      if (bucket.left <= 0) continue
      const key = bucket.of(versions[i].ctime, i)
      if (key === bucket.last) continue
      bucket.last = key
      bucket.left--
      kept.add(i)
    }
  }
  return kept
}

export function checkPolicy (policy: PrunePolicy): void {
  if (policy.keepLast === undefined && policy.keepDaily === undefined && policy.keepWeekly === undefined) {
    throw new VaultError('BAD_USAGE', 'say what to keep: --keep-last N, --keep-daily D and/or --keep-weekly W')
  }
}

export async function pruneVersions (ctx: VaultContext, options: PruneOptions): Promise<PruneResult> {
  checkPolicy(options)
  const byName = new Map<string, FileRecord[]>()
  if (options.names !== undefined && options.names.length > 0) {
    for (const name of options.names) {
      const versions = ctx.catalog.versionsOf(name)
      if (versions.length === 0) throw new VaultError('NOT_FOUND', `no file named "${name}"; nothing was pruned`)
      byName.set(name, versions)
    }
  } else {
    for (const record of ctx.catalog.listAllVersions()) byName.set(record.name, [...(byName.get(record.name) ?? []), record])
  }
  const drop: Array<{ record: FileRecord, version: number }> = []
  let kept = 0
  for (const versions of byName.values()) {
    const keep = keptVersions(versions, options)
    kept += keep.size
    versions.forEach((record, i) => { if (!keep.has(i)) drop.push({ record, version: i + 1 }) })
  }
  const bytesFreed = ctx.catalog.exclusiveChunkBytes(drop.map(d => d.record.row))
  if (options.dryRun !== true) {
    for (const { record } of drop) await removeFileRecord(ctx, record)
  }
  return {
    kept,
    dropped: drop.length,
    bytesFreed,
    dryRun: options.dryRun === true,
    droppedVersions: drop.map(({ record, version }) => ({ name: record.name, version, id: record.id, size: record.size, ctime: record.ctime }))
  }
}
