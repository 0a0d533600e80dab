// The dashboard's views of the node, in one request each: the overview (identity, uptime, storage
// per owner folder, traffic per hour, redundancy counts, background work), the files with their
// live redundancy (copies on holders that are online now, and why a copy is missing) and the peers
// with what flows and is held between us. Read-only; every figure is also reachable from the CLI
// (status, ls, health, peers).
import type { FastifyInstance } from 'fastify'
import type { NodeServices } from '../services.ts'
import { TrafficMeter, type ByteCounts } from '../../net/index.ts'
import type { FileRecord } from '../../catalog/index.ts'
import { fileView } from './files.ts'
import { JobLog } from './dashboard-jobs.ts'
import { reachablePeerSet, levelOf, redundancyInputs, redundancyOf, type FileRedundancy, type Redundancy } from './dashboard-redundancy.ts'


type FileWithRedundancy = ReturnType<typeof fileView> & { redundancy: FileRedundancy }

/**
 * The vault's list (newest version of each name, names opened), kept between requests until a file
 * is stored or removed or a recover rebuilds the catalog (other jobs do not change the list): what a badge needs beyond it is read
 * fresh each time, in a few queries.
 */
class FileListCache {
  private files: FileRecord[] | undefined
  private readonly stop: Array<() => void>

  constructor (node: NodeServices) {
    const drop = (): void => { this.files = undefined }
    this.stop = [node.events.on('file:stored', drop), node.events.on('file:removed', drop), node.events.on('job:progress', (job) => { if (job.job === 'recover') drop() })]
  }

  list (node: NodeServices): FileRecord[] {
    this.files ??= node.vault.list()
    return this.files
  }

  close (): void {
    for (const off of this.stop) off()
  }
}

/** Every file (newest version of each name) with its live redundancy. */
export function filesWithRedundancy (node: NodeServices, files: FileRecord[] = node.vault.list()): FileWithRedundancy[] {
  const inputs = redundancyInputs(node)
  return files.map(f => ({ ...fileView(f), redundancy: redundancyOf(inputs, f.row, f.target) }))
}

/**
 * The redundancy level of every file (the newest version of each name) without opening a single
 * sealed name: the overview's counts stay cheap however many files there are.
 */
function redundancyCounts (node: NodeServices): Record<Redundancy, number> {
  const connected = reachablePeerSet(node)
  const counts = node.copyRecords.copiesPerFile(connected)
  const levels: Record<Redundancy, number> = { full: 0, reduced: 0, critical: 0 }
  for (const f of node.copyRecords.newestTargets()) levels[levelOf(counts.get(f.row), f.target, connected).level]++
  return levels
}

export function dashboardDataRoutes (app: FastifyInstance, node: NodeServices): void {
  const startedAt = new Date()
  const traffic = new TrafficMeter(node.trafficSources)
  traffic.start()
  const fileList = new FileListCache(node)
  const jobs = new JobLog(node.events)
  app.addHook('onClose', async () => { traffic.stop(); fileList.close(); jobs.close() })

  app.get('/api/dashboard/overview', async () => {
    const status = node.status()
    const counts = redundancyCounts(node)
    return {
      nodeId: status.nodeId,
      addresses: status.addresses,
      reachability: status.reachability,
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
      jobs: jobs.states(),
      recoverPending: status.recoverPending,
      duplicateIdentity: status.duplicateIdentity
    }
  })

  app.get('/api/dashboard/files', async () => filesWithRedundancy(node, fileList.list(node)))

  app.get('/api/dashboard/peers', async () => {
    const bytes = traffic.peers()
    const held = node.copyRecords.holdingsPerPeer()
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
