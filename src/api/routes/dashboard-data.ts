// The dashboard's views of the node, in one request each: the overview (identity, uptime, storage
// per owner folder, traffic per hour, redundancy counts, background work), the files with their
// live redundancy (copies on holders that are online now, and why a copy is missing) and the peers
// with what flows and is held between us. Read-only; every figure is also reachable from the CLI
// (status, ls, health, peers).
import type { FastifyInstance } from 'fastify'
import type { NodeServices } from '../services.ts'
import { TrafficMeter, type ByteCounts } from '../../net/index.ts'
import { fileView } from './files.ts'

export type Redundancy = 'full' | 'reduced' | 'critical'

export interface FileRedundancy {
  /** Copies whose holder is online now, the owner's own counted (fewest over the file's blobs). */
  copies: number
  /** Copies wanted ('all' resolved to the live peers + the owner). */
  target: number
  level: Redundancy
  /** Why copies are missing, for people: a holder offline since…, or never placed. */
  reasons: string[]
  holders: Array<{ nodeId: string, online: boolean }>
}

/** Which peers are recorded as holding each blob of each complete file: one query for the vault. */
function holdersByFile (node: NodeServices): Map<number, Map<string, string[]>> {
  const rows = node.vault.catalog.db.prepare(`
    SELECT b.row AS row, b.blob AS blob, h.peer AS peer FROM (
      SELECT file_row AS row, chunk_id AS blob FROM file_chunks
      UNION SELECT row, file_id FROM files WHERE state = 'complete'
    ) b LEFT JOIN blob_holders h ON h.blob_id = b.blob`).all() as Array<{ row: number, blob: string, peer: string | null }>
  const byFile = new Map<number, Map<string, string[]>>()
  for (const r of rows) {
    let blobs = byFile.get(r.row)
    if (blobs === undefined) byFile.set(r.row, blobs = new Map())
    const peers = blobs.get(r.blob) ?? []
    if (r.peer !== null) peers.push(r.peer)
    blobs.set(r.blob, peers)
  }
  return byFile
}

function shortId (nodeId: string): string {
  return nodeId.slice(-8)
}

function redundancyOf (blobs: Map<string, string[]> | undefined, wanted: number, live: Set<string>, awaySince: Map<string, string>): FileRedundancy {
  const holders = new Set<string>()
  let copies = Infinity
  let recorded = Infinity
  for (const peers of (blobs ?? new Map<string, string[]>()).values()) {
    for (const p of peers) holders.add(p)
    copies = Math.min(copies, 1 + peers.filter(p => live.has(p)).length)
    recorded = Math.min(recorded, 1 + peers.length)
  }
  if (copies === Infinity) { copies = 1; recorded = 1 }
  const target = Math.max(1, wanted)
  const reasons: string[] = []
  for (const p of holders) {
    if (!live.has(p)) reasons.push(`holder …${shortId(p)} offline${awaySince.has(p) ? ` since ${awaySince.get(p)!}` : ''}`)
  }
  if (recorded < target) reasons.push(`never placed: ${target - recorded} cop${target - recorded === 1 ? 'y' : 'ies'} had no peer to go to (too few peers, or they refused)`)
  const level: Redundancy = copies >= target ? 'full' : copies <= 1 ? 'critical' : 'reduced'
  return { copies, target, level, reasons: level === 'full' ? [] : reasons, holders: [...holders].map(nodeId => ({ nodeId, online: live.has(nodeId) })) }
}

/** Every file (newest version of each name) with its live redundancy. */
export function filesWithRedundancy (node: NodeServices): Array<ReturnType<typeof fileView> & { redundancy: FileRedundancy }> {
  const live = new Set(node.connectedPeers())
  const awaySince = new Map(node.peers().filter(p => !p.connected && p.nodeId !== null).map(p => [p.nodeId!, p.since]))
  const byFile = holdersByFile(node)
  return node.vault.list().map(f => ({
    ...fileView(f),
    redundancy: redundancyOf(byFile.get(f.row), f.target === 'all' ? live.size + 1 : f.target, live, awaySince)
  }))
}

/**
 * The redundancy level of every file (the newest version of each name) without opening a single
 * sealed name: the overview's counts stay cheap however many files there are.
 */
function redundancyCounts (node: NodeServices): Record<Redundancy, number> {
  const live = new Set(node.connectedPeers())
  const byFile = holdersByFile(node)
  const newest = node.vault.catalog.db.prepare(`SELECT row, target FROM files WHERE state = 'complete' AND NOT EXISTS (
    SELECT 1 FROM files newer WHERE newer.state = 'complete' AND newer.name_mac = files.name_mac
    AND (newer.ctime > files.ctime OR (newer.ctime = files.ctime AND newer.row > files.row)))`).all() as Array<{ row: number, target: number }>
  const counts: Record<Redundancy, number> = { full: 0, reduced: 0, critical: 0 }
  for (const f of newest) counts[redundancyOf(byFile.get(f.row), f.target === 0 ? live.size + 1 : f.target, live, new Map()).level]++
  return counts
}

/** Blobs and bytes each peer holds for this owner, as the catalog records them. */
function heldForMe (node: NodeServices): Map<string, { blobs: number, bytes: number }> {
  const rows = node.vault.catalog.db.prepare(`
    SELECT h.peer AS peer, COUNT(*) AS blobs, COALESCE(SUM(c.size), 0) AS bytes FROM blob_holders h
    LEFT JOIN (SELECT chunk_id, MAX(size) AS size FROM file_chunks GROUP BY chunk_id) c ON c.chunk_id = h.blob_id
    GROUP BY h.peer`).all() as Array<{ peer: string, blobs: number, bytes: number }>
  return new Map(rows.map(r => [r.peer, { blobs: Number(r.blobs), bytes: Number(r.bytes) }]))
}

export function dashboardDataRoutes (app: FastifyInstance, node: NodeServices): void {
  const startedAt = new Date()
  const traffic = new TrafficMeter(node.trafficSources)
  traffic.start()
  app.addHook('onClose', async () => { traffic.stop() })

  app.get('/api/dashboard/overview', async () => {
    const status = node.status()
    const counts = redundancyCounts(node)
    return {
      nodeId: status.nodeId,
      addresses: status.addresses,
      startedAt: startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
      peers: { connected: status.peers.filter(p => p.connected).length, away: status.peers.filter(p => !p.connected).length },
      files: status.files,
      storage: Object.entries(status.storage).map(([owner, bytes]) => ({ owner, bytes, own: owner === status.nodeId })).sort((a, b) => Number(b.own) - Number(a.own) || b.bytes - a.bytes),
      traffic: traffic.hourly(),
      redundancy: counts,
      underReplicated: status.underReplicated,
      scrub: status.scrub,
      audit: status.audit,
      recoverPending: status.recoverPending,
      duplicateIdentity: status.duplicateIdentity
    }
  })

  app.get('/api/dashboard/files', async () => filesWithRedundancy(node))

  app.get('/api/dashboard/peers', async () => {
    const bytes = traffic.peers()
    const held = heldForMe(node)
    const usage = node.vault.store.usage()
    const zero: ByteCounts = { sent: 0, received: 0 }
    return node.peers().map(p => ({
      ...p,
      traffic: p.nodeId === null ? zero : bytes.get(p.nodeId) ?? zero,
      holdsForMe: p.nodeId === null ? { blobs: 0, bytes: 0 } : held.get(p.nodeId) ?? { blobs: 0, bytes: 0 },
      heldForIt: p.nodeId === null ? 0 : usage[p.nodeId] ?? 0
    }))
  })
}
