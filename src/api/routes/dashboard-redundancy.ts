// Each file's live redundancy for the dashboard: copies on holders online now (the owner's own
// counted), the target, a level (full / reduced / critical) and, below target, why — a holder
// offline since…, a holder that refused (disk full, storage limit, busy…) at…, or copies never
// placed for want of peers. SQL does the per-blob work in two queries for the whole vault (no
// query per file), so 1,000 files cost about what one does.
import type { NodeServices } from '../services.ts'
import type { ShortfallRecord } from '../../catalog/index.ts'
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

/** What the catalog records of one file's copies: the fewest holders of any blob, and of those online. */
interface CopyCounts { recorded: number, live: number }

/** The blobs of every complete file: its chunks and its manifest. */
const FILE_BLOBS = `SELECT file_row AS row, chunk_id AS blob FROM file_chunks
  UNION SELECT row, file_id FROM files WHERE state = 'complete'`

/** The peers online now, for SQL: a JSON array read with json_each. */
export interface LivePeers { set: Set<string>, json: string }

export function livePeers (node: NodeServices): LivePeers {
  const ids = node.connectedPeers()
  return { set: new Set(ids), json: JSON.stringify(ids) }
}

/** Per file row: the fewest recorded and the fewest online holders over its blobs. One query. */
export function copyCounts (node: NodeServices, live: LivePeers): Map<number, CopyCounts> {
  const rows = node.vault.catalog.db.prepare(`
    WITH live(peer) AS (SELECT value FROM json_each(?)),
    per_blob AS (
      SELECT b.row AS row, COUNT(h.peer) AS recorded, COUNT(l.peer) AS live
      FROM (${FILE_BLOBS}) b LEFT JOIN blob_holders h ON h.blob_id = b.blob LEFT JOIN live l ON l.peer = h.peer
      GROUP BY b.row, b.blob)
    SELECT row, MIN(recorded) AS recorded, MIN(live) AS live FROM per_blob GROUP BY row`).all(live.json) as Array<{ row: number, recorded: number, live: number }>
  return new Map(rows.map(r => [Number(r.row), { recorded: Number(r.recorded), live: Number(r.live) }]))
}

/** Per file row: every peer recorded as holding any of its blobs. One query. */
function holdersByFile (node: NodeServices): Map<number, string[]> {
  const rows = node.vault.catalog.db.prepare(`SELECT DISTINCT b.row AS row, h.peer AS peer FROM (${FILE_BLOBS}) b
    JOIN blob_holders h ON h.blob_id = b.blob ORDER BY b.row, h.peer`).all() as Array<{ row: number, peer: string }>
  const byFile = new Map<number, string[]>()
  for (const r of rows) {
    const peers = byFile.get(Number(r.row))
    if (peers === undefined) byFile.set(Number(r.row), [r.peer])
    else peers.push(r.peer)
  }
  return byFile
}

function shortId (nodeId: string): string {
  return nodeId.slice(-8)
}

export function levelOf (counts: CopyCounts | undefined, wanted: number): { copies: number, target: number, level: Redundancy } {
  const copies = 1 + (counts?.live ?? 0)
  const target = Math.max(1, wanted)
  return { copies, target, level: copies >= target ? 'full' : copies <= 1 ? 'critical' : 'reduced' }
}

/** Why copies are missing, from what the catalog recorded: who is offline, who refused, what found no peer. */
function reasonsOf (holders: string[], live: Set<string>, awaySince: Map<string, string>, shortfalls: ShortfallRecord[], missingPlaced: number): string[] {
  const reasons: string[] = []
  for (const p of holders) {
    if (!live.has(p)) reasons.push(`holder …${shortId(p)} offline${awaySince.has(p) ? ` since ${awaySince.get(p)!}` : ''}`)
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
  live: LivePeers
  counts: Map<number, CopyCounts>
  holders: Map<number, string[]>
  shortfalls: Map<number, ShortfallRecord[]>
  awaySince: Map<string, string>
}

/** Everything the files' badges need, read once per request (four queries, whatever the file count). */
export function redundancyInputs (node: NodeServices): RedundancyInputs {
  const live = livePeers(node)
  return {
    live,
    counts: copyCounts(node, live),
    holders: holdersByFile(node),
    shortfalls: node.vault.catalog.shortfalls.all(),
    awaySince: new Map(node.peers().filter(p => !p.connected && p.nodeId !== null).map(p => [p.nodeId!, p.since]))
  }
}

/** One file's badge: `target` as stored (0 = all). */
export function redundancyOf (inputs: RedundancyInputs, row: number, storedTarget: number): FileRedundancy {
  const counts = inputs.counts.get(row)
  const { copies, target, level } = levelOf(counts, storedTarget === 0 ? inputs.live.set.size + 1 : storedTarget)
  const holders = inputs.holders.get(row) ?? []
  const recorded = 1 + (counts?.recorded ?? 0)
  const reasons = level === 'full' ? [] : reasonsOf(holders, inputs.live.set, inputs.awaySince, inputs.shortfalls.get(row) ?? [], Math.max(0, target - recorded))
  return { copies, target, level, reasons, holders: holders.map(nodeId => ({ nodeId, online: inputs.live.set.has(nodeId) })) }
}
