// `health`: for one file, which peers hold each of its blobs (chunks, then the manifest), whether
// each holder is online and, when it is, whether it confirms the copy right now (HAS).
import type { Catalog, FileRecord } from '../catalog/index.ts'
import type { BlobStore } from '../store/index.ts'
import type { BlockClient } from './block-client.ts'
import { replication, type ReplicaTarget } from '../redundancy/index.ts'

export interface HolderHealth { nodeId: string, online: boolean, confirmed: boolean | null }
export interface BlobHealth { id: string, kind: 'chunk' | 'manifest', size: number | null, local: boolean, holders: HolderHealth[], copies: number }
export interface FileHealth {
  id: string
  name: string
  size: number
  /** Copies wanted in all ('all' = every peer). */
  target: ReplicaTarget
  /** Copies of the least-copied blob, the owner's counted. */
  replicas: number
  ok: boolean
  blobs: BlobHealth[]
}

export interface HealthSources {
  catalog: Catalog
  store: BlobStore
  ownerId: string
  /** Node IDs of the peers reachable now. */
  reachablePeers: string[]
  client?: BlockClient
  /** False for a copy the holder failed an audit for (or served wrong bytes of): never "confirmed". */
  trusted?: (peer: string, blobId: string) => boolean
}

export async function fileHealth (src: HealthSources, file: FileRecord): Promise<FileHealth> {
  const blobs: Array<{ id: string, kind: 'chunk' | 'manifest', size: number | null }> = [
    ...dedupe(src.catalog.chunksOf(file.row)).map(c => ({ id: c.id, kind: 'chunk' as const, size: c.size })),
    { id: file.id, kind: 'manifest', size: null }
  ]
  const live = new Set(src.reachablePeers)
  const holdersOf = new Map(blobs.map(b => [b.id, src.catalog.holders.of(b.id)]))
  const confirmedBy = await confirmations(src, live, holdersOf)
  const report: BlobHealth[] = []
  for (const blob of blobs) {
    const local = await src.store.has(src.ownerId, blob.id)
    const holders = (holdersOf.get(blob.id) ?? []).map(nodeId => ({
      nodeId,
      online: live.has(nodeId),
      confirmed: src.trusted?.(nodeId, blob.id) === false ? false : confirmedBy.has(nodeId) ? confirmedBy.get(nodeId)!.has(blob.id) : null
    }))
    const copies = (local ? 1 : 0) + holders.filter(h => h.confirmed !== false).length
    report.push({ ...blob, local, holders, copies })
  }
  const replicas = Math.min(...report.map(b => b.copies))
  const { target } = file
  return { id: file.id, name: file.name, size: file.size, target, replicas, ok: replication.isDurable(replicas, target, live.size), blobs: report }
}

/** Asks each online holder which of its recorded blobs it really has; unreachable → unknown. */
async function confirmations (src: HealthSources, live: Set<string>, holdersOf: Map<string, string[]>): Promise<Map<string, Set<string>>> {
  const askFor = new Map<string, string[]>()
  for (const [id, holders] of holdersOf) {
    for (const peer of holders) if (live.has(peer)) askFor.set(peer, [...(askFor.get(peer) ?? []), id])
  }
  const result = new Map<string, Set<string>>()
  if (src.client === undefined) return result
  await Promise.all([...askFor].map(async ([peer, ids]) => {
    try {
      result.set(peer, await src.client!.hasBlobs(peer, src.ownerId, ids))
    } catch {
      // unreachable right now: its copies stay "unknown", not "missing"
    }
  }))
  return result
}

/** A chunk used twice in one file (repeated content) is one blob. */
function dedupe (chunks: Array<{ id: string, size: number }>): Array<{ id: string, size: number }> {
  return [...new Map(chunks.map(c => [c.id, c])).values()]
}
