// "How many copies": the one place that parses a copy target (`N` | `'all'`), checks it, stores it
// in the catalog and in manifests (0 = all), and answers how many copies are wanted and whether a
// blob has them. Replication is today's only policy; erasure coding would be a second one behind
// `RedundancyPolicy`. No zod here: the CLI checks flags with this before it loads anything heavy.
import { VaultError } from '../errors.ts'

/** Copies wanted in all, the owner's counted; 'all' = one on every peer reachable at the time. */
export type ReplicaTarget = number | 'all'

export const DEFAULT_REPLICAS = 3
export const MAX_REPLICAS = 64
/** How 'all' is stored (catalog rows, sealed manifests, journal rows). */
export const STORED_ALL = 0
/** What a valid target looks like, for error messages. */
export const REPLICAS_RULE = `a number from 1 to ${MAX_REPLICAS} or "all"`

export function isReplicaTarget (value: unknown): value is ReplicaTarget {
  return value === 'all' || (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_REPLICAS)
}

/** The text of a flag or query ("3", "all") as a target, or undefined when it is not one. */
export function replicaTargetOf (text: string): ReplicaTarget | undefined {
  if (text === 'all') return 'all'
  if (!/^\d{1,9}$/.test(text)) return undefined
  const n = Number(text)
  return isReplicaTarget(n) ? n : undefined
}

/** `--replicas` as the user typed it; a bad value is a usage error. */
export function parseReplicaTarget (text: string, flag = '--replicas'): ReplicaTarget {
  const target = replicaTargetOf(text)
  if (target === undefined) throw new VaultError('BAD_USAGE', `${flag} must be ${REPLICAS_RULE}, got ${JSON.stringify(text)}`)
  return target
}

/** As the catalog and manifests keep it: a number, 0 for 'all'. */
export function storedTarget (target: ReplicaTarget): number {
  return target === 'all' ? STORED_ALL : target
}

export function targetFromStored (stored: number): ReplicaTarget {
  return stored === STORED_ALL ? 'all' : stored
}

/** The wider of two copy targets ('all' is the widest). */
export function widestTarget (a: ReplicaTarget, b: ReplicaTarget): ReplicaTarget {
  return a === 'all' || b === 'all' ? 'all' : Math.max(a, b)
}

/**
 * SQL for the copies a row wants, given its stored target column; the one `?` it holds is bound to
 * `copiesWanted('all', reachable)` (what 'all' stands for now).
 */
export function wantedCopiesSql (column = 'target'): string {
  return `(CASE ${column} WHEN ${STORED_ALL} THEN ? ELSE ${column} END)`
}

/** What a redundancy scheme answers; replication (whole copies) is the one there is. */
export interface RedundancyPolicy {
  /** Copies wanted in all (the owner's counted) when `reachablePeers` other nodes can be reached. */
  copiesWanted: (target: ReplicaTarget, reachablePeers: number) => number
  /** Holders wanted besides the owner. */
  holdersWanted: (target: ReplicaTarget, reachablePeers: number) => number
  /** A blob (or file) with `copies` copies in all meets its target. */
  isDurable: (copies: number, target: ReplicaTarget, reachablePeers: number) => boolean
}

export const replication: RedundancyPolicy = {
  copiesWanted: (target, reachablePeers) => target === 'all' ? reachablePeers + 1 : target,
  holdersWanted: (target, reachablePeers) => replication.copiesWanted(target, reachablePeers) - 1,
  isDurable: (copies, target, reachablePeers) => copies >= replication.copiesWanted(target, reachablePeers)
}
