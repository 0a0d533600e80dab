// The owner's side of replication, over its catalog: records who holds each blob, tells holders
// about deletions (now, or when they come back), and repairs files below their copy target as soon
// as peers appear or once a holder has been away longer than --repair-after.
import type { Logger } from 'pino'
import type { Catalog } from '../catalog/index.ts'
import type { BlobReplication, ReplicaTarget } from '../files/index.ts'
import type { Replicator } from './replicator.ts'

export interface OwnerReplicationOptions {
  replicator: Replicator
  catalog: Catalog
  ownerId: string
  livePeers: () => string[]
  log: Logger
  /** A holder away longer than this no longer counts as a copy: its chunks are placed elsewhere. */
  repairAfterMs: number
  /** How often the repair pass runs when nothing triggers it sooner. */
  repairEveryMs?: number
}

export class OwnerReplication implements BlobReplication {
  private readonly o: OwnerReplicationOptions
  private readonly log: Logger
  /** When each known holder was last seen connected (holders never seen this run: start time). */
  private readonly awaySince = new Map<string, number>()
  private timer: NodeJS.Timeout | undefined
  private debounce: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private again = false
  private stopped = false

  constructor (options: OwnerReplicationOptions) {
    this.o = options
    this.log = options.log.child({ sub: 'repair' })
  }

  start (): void {
    const now = Date.now()
    for (const peer of this.o.catalog.holders.peers()) this.awaySince.set(peer, now)
    this.timer = setInterval(() => this.schedule(0), this.o.repairEveryMs ?? 30_000)
    this.timer.unref()
  }

  async stop (): Promise<void> {
    this.stopped = true
    clearInterval(this.timer)
    clearTimeout(this.debounce)
    await this.running
  }

  allTarget (): number {
    return new Set(this.o.livePeers()).size + 1
  }

  async replicate (blobId: string, sealed: Uint8Array, target: ReplicaTarget): Promise<string[]> {
    const existing = this.o.catalog.holders.of(blobId)
    return (await this.o.replicator.replicate(blobId, sealed, target, { existing })).holders
  }

  async removed (blobIds: string[]): Promise<void> {
    const known = this.o.catalog.holders.drop(blobIds)
    const live = new Set(this.o.livePeers())
    // Live peers are all told (a copy may exist that we never recorded); known holders that are
    // away get the deletion queued and delivered when they reconnect.
    const { failed } = await this.o.replicator.remove(blobIds, [...live])
    for (const peer of failed) this.o.catalog.holders.queueDeletes(peer, blobIds)
    for (const [peer, ids] of known) if (!live.has(peer)) this.o.catalog.holders.queueDeletes(peer, ids)
  }

  peerConnected (peer: string): void {
    this.awaySince.delete(peer)
    void this.flushDeletes(peer)
    this.schedule(500)
  }

  peerDisconnected (peer: string): void {
    this.awaySince.set(peer, Date.now())
  }

  /** Runs a repair pass soon; passes never overlap, and a request during one runs another after. */
  schedule (delayMs: number): void {
    if (this.stopped) return
    clearTimeout(this.debounce)
    this.debounce = setTimeout(() => {
      if (this.running !== undefined) { this.again = true; return }
      this.running = this.repair().then(() => {}, (err: unknown) => { this.log.warn({ err }, 'repair pass failed') }).finally(() => {
        this.running = undefined
        if (this.again && !this.stopped) { this.again = false; this.schedule(0) }
      })
    }, delayMs)
    this.debounce.unref()
  }

  private async flushDeletes (peer: string): Promise<void> {
    for (;;) {
      const ids = this.o.catalog.holders.pendingDeletes(peer)
      if (ids.length === 0 || this.stopped) return
      const { told } = await this.o.replicator.remove(ids, [peer])
      if (!told.includes(peer)) return
      this.o.catalog.holders.clearDeletes(peer, ids)
      this.log.info({ peer, blobs: ids.length }, 'a returning holder dropped the blobs deleted while it was away')
    }
  }

  /** One pass: forget holders gone too long, then bring under-replicated files up to target. */
  async repair (): Promise<{ repaired: number }> {
    const { catalog } = this.o
    const now = Date.now()
    let forgot = 0
    for (const [peer, since] of this.awaySince) {
      if (now - since >= this.o.repairAfterMs) {
        forgot += catalog.holders.forgetPeer(peer)
        this.awaySince.delete(peer)
      }
    }
    if (forgot > 0) catalog.refreshAllReplicas()
    if (this.o.livePeers().length === 0) return { repaired: 0 }
    let repaired = 0
    for (const file of catalog.underReplicated(this.allTarget())) {
      if (this.stopped) break
      const target: ReplicaTarget = file.target === 0 ? 'all' : file.target
      for (const blobId of [...new Set([...catalog.chunksOf(file.row).map(c => c.id), file.id])]) {
        const existing = catalog.holders.of(blobId)
        const { holders } = await this.o.replicator.replicateStored(blobId, target, { existing })
        catalog.holders.add(blobId, holders)
      }
      if (catalog.refreshReplicas(file) > file.replicas) repaired++
    }
    if (repaired > 0) this.log.info({ files: repaired }, 'made missing copies')
    return { repaired }
  }
}
