// Each file's live redundancy for the dashboard: copies on holders online now (the owner's own
// counted), the target, a level (full / reduced / critical) and, below target, why — a holder
// offline since…, a holder that refused (disk full, storage limit, busy…) at…, or copies never
// placed for want of peers. The catalog does the per-blob work (NodeServices.copyRecords, one
// query each for the whole vault, no query per file), so 1,000 files cost about what one does;
// what is left here is words and levels for people.
import type { NodeServices } from '../services.ts'
import type { FileCopies, ShortfallRecord } from '../../catalog/index.ts'
import { replication as replicaPolicy, type ReplicaTarget } from '../../redundancy/index.ts'
import { shortfallWords } from '../shortfall-words.ts'

export type Redundancy = 'full' | 'reduced' | 'critical'

export interface FileRedundancy {
  /** Copies whose holder is online now, the owner's own counted (fewest over the file's blobs). */
  copies: number
  /** Copies wanted ('all' resolved to the live peers + the owner). */
  target: number
  level: Redundancy
  /** Why copies are missing, for people: a holder offline since…, refused at…, or never placed. */
  reasons: string[]
  holders: Array<{ nodeId: string, online: boolean }>
}

/** The node IDs of the peers reachable now (the connected ones; with the DHT, its routing table),
 * read once per request: every figure of it (copies online, what 'all' wants, who is offline)
 * counts the same peers. */
export function reachablePeerSet (node: NodeServices): Set<string> {
  return new Set(node.reachablePeers())
}

function shortId (nodeId: string): string {
  return nodeId.slice(-8)
}

/** A file's copies online against its target, 'all' standing for the peers connected now + the owner. */
export function levelOf (counts: FileCopies | undefined, fileTarget: ReplicaTarget, connected: Set<string>): { copies: number, target: number, level: Redundancy } {
  const copies = 1 + (counts?.online ?? 0)
  const target = Math.max(1, replicaPolicy.copiesWanted(fileTarget, connected.size))
  return { copies, target, level: copies >= target ? 'full' : copies <= 1 ? 'critical' : 'reduced' }
}

/** Why copies are missing, from what the catalog recorded: who is offline, who refused, what found no peer. */
function reasonsOf (holders: string[], connected: Set<string>, awaySince: Map<string, string>, shortfalls: ShortfallRecord[], missingPlaced: number): string[] {
  const reasons: string[] = []
  for (const p of holders) {
    if (!connected.has(p)) reasons.push(`holder …${shortId(p)} offline${awaySince.has(p) ? ` since ${awaySince.get(p)!}` : ''}`)
  }
  let noPeerRecorded = false
  for (const s of shortfalls) {
    if (s.code === 'NO_PEERS') {
      noPeerRecorded = true
      reasons.push(`never placed: ${s.copies} cop${s.copies === 1 ? 'y' : 'ies'} had no peer to go to (no peers) at ${s.at}`)
    } else if (!holders.includes(s.peer)) {
      reasons.push(`holder …${shortId(s.peer)} refused (${shortfallWords(s.code)}) at ${s.at}`)
    }
  }
  const refusals = shortfalls.some(s => s.code !== 'NO_PEERS')
  if (missingPlaced > 0 && !noPeerRecorded && !refusals) reasons.push(`never placed: ${missingPlaced} cop${missingPlaced === 1 ? 'y' : 'ies'} had no peer to go to (no peers)`)
  return reasons
}

export interface RedundancyInputs {
  connected: Set<string>
  counts: Map<number, FileCopies>
  holders: Map<number, string[]>
  shortfalls: Map<number, ShortfallRecord[]>
  awaySince: Map<string, string>
}

/** Everything the files' badges need, read once per request (four queries, whatever the file count). */
export function redundancyInputs (node: NodeServices): RedundancyInputs {
  const connected = reachablePeerSet(node)
  return {
    connected,
    counts: node.copyRecords.copiesPerFile(connected),
    holders: node.copyRecords.holdersPerFile(),
    shortfalls: node.copyRecords.shortfallsPerFile(),
    awaySince: new Map(node.peers().filter(p => !p.connected && p.nodeId !== null).map(p => [p.nodeId!, p.since]))
  }
}

/** One file's badge. */
export function redundancyOf (inputs: RedundancyInputs, row: number, fileTarget: ReplicaTarget): FileRedundancy {
  const counts = inputs.counts.get(row)
  const { copies, target, level } = levelOf(counts, fileTarget, inputs.connected)
  const holders = inputs.holders.get(row) ?? []
  const recorded = 1 + (counts?.recorded ?? 0)
  const reasons = level === 'full' ? [] : reasonsOf(holders, inputs.connected, inputs.awaySince, inputs.shortfalls.get(row) ?? [], Math.max(0, target - recorded))
  return { copies, target, level, reasons, holders: holders.map(nodeId => ({ nodeId, online: inputs.connected.has(nodeId) })) }
}
