// The owner's side of replication, over its catalog: records who holds each blob, tells holders
// about deletions (now, and again in every repair pass until they acknowledge), repairs files and
// journal blobs below their copy target as soon as peers appear or once a holder has been away
// longer than --repair-after, and sweeps holders for blobs it deleted (holder-sweep.ts).
import type { Logger } from 'pino'
import type { Catalog } from '../catalog/index.ts'
import type { BlobShortfall, Redundancy } from '../files/index.ts'
import { nodeIdsOf, type Routing } from '../net/index.ts'
import { replication, type ReplicaTarget } from '../redundancy/index.ts'
import type { Replicator } from './replicator.ts'
import type { BlockClient } from './block-client.ts'
import { HolderSweep, type SweepResult } from './holder-sweep.ts'

export interface OwnerReplicationOptions {
  replicator: Replicator
  catalog: Catalog
  ownerId: string
  /** Which peers can be reached, and which may hold this owner's blobs. */
  routing: Routing
  log: Logger
  /** A holder away longer than this no longer counts as a copy: its chunks are placed elsewhere. */
  repairAfterMs: number
  /** How often the repair pass runs when nothing triggers it sooner. */
  repairEveryMs?: number
  /** For the holder sweep (LIST); without it there is no sweep. */
  client?: BlockClient
  /** How often holders are swept for blobs this owner deleted (default 1 h). */
  sweepEveryMs?: number
  /**
   * True while deletions must not reach holders (a disk restored from the phrase that has not run
   * `recover`): they are queued instead, and sent once it turns false, minus blobs used again.
   */
  holdDeletions?: () => boolean
  /** Back-off of deletion retries to one peer: first wait, and the most it grows to. */
  deleteRetryMs?: { first: number, max: number }
  /** A repair pass with files to bring up: called as it starts, after each file, and when it ends. */
  onProgress?: (progress: RepairProgress) => void
}

/** One repair pass over the files below their copy target. */
export interface RepairProgress { phase: 'repairing' | 'done' | 'failed', files: number, done: number, repaired: number, error?: string }

export class OwnerReplication implements Redundancy {
  readonly makesCopies = true
  private readonly o: OwnerReplicationOptions
  private readonly log: Logger
  /** When each known holder was last seen connected (holders never seen this run: start time). */
  private readonly awaySince = new Map<string, number>()
  private timer: NodeJS.Timeout | undefined
  private debounce: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private again = false
  private stopped = false
  /** Peers whose queued deletions are being sent now, and when each may be retried after failing. */
  private readonly flushing = new Map<string, Promise<void>>()
  private readonly deleteBackoff = new Map<string, { failures: number, nextAt: number }>()
  readonly sweeper: HolderSweep | undefined
  private sweepTimer: NodeJS.Timeout | undefined
  private readonly stopSignal = new AbortController()
  /** Copies being made now, per blob (a put's): a deletion that crossed one must know it. */
  private readonly replicating = new Map<string, Set<Promise<unknown>>>()

  constructor (options: OwnerReplicationOptions) {
    this.o = options
    this.log = options.log.child({ sub: 'repair' })
    if (options.client !== undefined) {
      this.sweeper = new HolderSweep({ catalog: options.catalog, client: options.client, replicator: options.replicator, ownerId: options.ownerId, routing: options.routing, log: options.log })
    }
  }

  start (): void {
    const now = Date.now()
    for (const peer of this.o.catalog.holders.peers()) this.awaySince.set(peer, now)
    this.timer = setInterval(() => this.schedule(0), this.o.repairEveryMs ?? 30_000)
    this.timer.unref()
    this.sweepTimer = setInterval(() => { void this.sweepHolders() }, this.o.sweepEveryMs ?? 3600_000)
    this.sweepTimer.unref()
  }

  async stop (): Promise<void> {
    this.stopped = true
    this.stopSignal.abort()
    clearInterval(this.timer)
    clearInterval(this.sweepTimer)
    clearTimeout(this.debounce)
    await this.running
    await Promise.allSettled(this.flushing.values())
    await this.sweeper?.idle()
  }

  /** Sweeps every live holder for blobs this owner deleted; errors are logged, never thrown. */
  async sweepHolders (): Promise<SweepResult> {
    if (this.sweeper === undefined || this.stopped || this.deletionsHeld()) return { peers: 0, deleted: 0 }
    return await this.sweeper.sweep(this.stopSignal.signal).catch((err: unknown) => {
      this.log.warn({ err }, 'holder sweep failed')
      return { peers: 0, deleted: 0 }
    })
  }

  /** Peers reachable now: what a target of 'all' stands for. */
  reachablePeers (): number {
    return new Set(nodeIdsOf(this.o.routing.allPeers())).size
  }

  /** The copies a file of target 'all' wants now (the catalog's queries take it). */
  private allTarget (): number {
    return replication.copiesWanted('all', this.reachablePeers())
  }

  async replicate (blobId: string, sealed: Uint8Array, target: ReplicaTarget, options: { alongside?: string[] } = {}): Promise<{ holders: string[], shortfall?: BlobShortfall }> {
    const existing = this.o.catalog.holders.of(blobId)
    const run = this.o.replicator.replicate(blobId, sealed, target, { existing, alongside: options.alongside })
    const runs = this.replicating.get(blobId) ?? new Set()
    this.replicating.set(blobId, runs.add(run))
    try {
      return await run
    } finally {
      runs.delete(run)
      if (runs.size === 0 && this.replicating.get(blobId) === runs) this.replicating.delete(blobId)
    }
  }

  /**
   * After `told` dropped `ids`: a put of the same bytes (same blob IDs) may have placed or counted
   * a copy on them meanwhile, which the deletion then took. Those records go once that put's copies
   * are recorded, and a repair pass makes the copies again.
   */
  private async reclaimed (ids: string[], told: string[]): Promise<void> {
    const { catalog } = this.o
    const again = ids.filter(id => catalog.isReferenced(id))
    if (again.length === 0 || told.length === 0) return
    await Promise.allSettled(again.flatMap(id => [...(this.replicating.get(id) ?? [])]))
    let dropped = 0
    for (const peer of told) dropped += catalog.holders.dropCopies(peer, again).length
    if (dropped === 0) return
    this.log.info({ blobs: again.length, copies: dropped }, 'a put used deleted blobs again while holders dropped them: copying them again')
    catalog.refreshAllReplicas()
    this.schedule(0)
  }

  private deletionsHeld (): boolean {
    return this.o.holdDeletions?.() === true
  }

  async removed (blobIds: string[]): Promise<void> {
    // A blob a put has used again already (same bytes) stays where it is, records and all.
    const gone = blobIds.filter(id => !this.o.catalog.isReferenced(id))
    const known = this.o.catalog.holders.drop(gone)
    const live = new Set(nodeIdsOf(await this.o.routing.holdersOf(this.o.ownerId)))
    if (this.deletionsHeld()) {
      for (const peer of new Set([...live, ...known.keys()])) this.o.catalog.holders.queueDeletes(peer, gone)
      return
    }
    // Live peers are all told (a copy may exist that we never recorded); known holders that are
    // away get the deletion queued and delivered when they reconnect.
    const { told, failed } = await this.o.replicator.remove(gone, [...live])
    for (const peer of failed) this.o.catalog.holders.queueDeletes(peer, gone)
    for (const [peer, ids] of known) if (!live.has(peer)) this.o.catalog.holders.queueDeletes(peer, ids)
    await this.reclaimed(gone, told)
  }

  peerConnected (peer: string): void {
    this.awaySince.delete(peer)
    this.deleteBackoff.delete(peer)
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

  /** Sends a peer its queued deletions; one flush per peer at a time. */
  private async flushDeletes (peer: string): Promise<void> {
    let flush = this.flushing.get(peer)
    if (flush === undefined) {
      flush = this.sendDeletes(peer).finally(() => this.flushing.delete(peer))
      this.flushing.set(peer, flush)
    }
    await flush
  }

  private async sendDeletes (peer: string): Promise<void> {
    for (;;) {
      if (this.deletionsHeld()) return
      const queued = this.o.catalog.holders.pendingDeletes(peer)
      // A blob a put has used again since (same content, same ID) must stay: it leaves the queue.
      const reused = queued.filter(id => this.o.catalog.isReferenced(id))
      if (reused.length > 0) this.o.catalog.holders.clearDeletes(peer, reused)
      const ids = queued.filter(id => !reused.includes(id))
      if (queued.length === 0 || this.stopped) return
      if (ids.length === 0) continue
      const { told } = await this.o.replicator.remove(ids, [peer], this.stopSignal.signal).catch(() => ({ told: [] as string[] }))
      if (!told.includes(peer)) {
        const failures = (this.deleteBackoff.get(peer)?.failures ?? 0) + 1
        const { first, max } = this.o.deleteRetryMs ?? { first: 1_000, max: 300_000 }
        this.deleteBackoff.set(peer, { failures, nextAt: Date.now() + Math.min(max, first * 2 ** (failures - 1)) })
        return
      }
      this.deleteBackoff.delete(peer)
      this.o.catalog.holders.clearDeletes(peer, ids)
      await this.reclaimed(ids, [peer])
      this.log.info({ peer, blobs: ids.length }, 'a holder dropped the blobs deleted while it was away or not answering')
    }
  }

  /**
   * Every peer with queued deletions gets them again, connected or not from our side (a hung
   * holder never disconnects), with back-off per peer. Not awaited by the repair pass: a peer that
   * does not answer costs it nothing.
   */
  private retryDeletes (): void {
    const now = Date.now()
    for (const peer of this.o.catalog.holders.peersWithPendingDeletes()) {
      if (this.stopped) return
      if ((this.deleteBackoff.get(peer)?.nextAt ?? 0) > now || this.flushing.has(peer)) continue
      void this.flushDeletes(peer)
    }
  }

  /** Journal blobs below their copy target get new copies, like a file's blobs. */
  private async repairJournal (): Promise<void> {
    const { catalog, replicator } = this.o
    for (const row of catalog.journal.underReplicated(this.allTarget())) {
      if (this.stopped) return
      try {
        const { holders } = await replicator.replicateStored(row.blobId, row.target, { existing: catalog.holders.of(row.blobId) })
        catalog.holders.add(row.blobId, holders)
      } catch (err) {
        this.log.debug({ blob: row.blobId.slice(0, 12), err: (err as Error).message }, 'journal blob not copied; next pass')
      }
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
    this.retryDeletes()
    if (this.o.routing.allPeers().length === 0) return { repaired: 0 }
    await this.repairJournal()
    let repaired = 0
    const files = catalog.underReplicated(this.allTarget())
    const progress = (phase: RepairProgress['phase'], done: number, error?: string): void => this.o.onProgress?.({ phase, files: files.length, done, repaired, ...(error === undefined ? {} : { error }) })
    if (files.length > 0) progress('repairing', 0)
    let done = 0
    try {
      await this.repairFiles(files, (gained) => { repaired = gained; progress('repairing', ++done) })
    } catch (err) {
      // The activity shown must end too: a pass that failed is not "repairing" for ever.
      progress('failed', done, (err as Error).message)
      throw err
    }
    if (files.length > 0) progress('done', files.length)
    if (repaired > 0) this.log.info({ files: repaired }, 'made missing copies')
    return { repaired }
  }

  /**
   * The file's add record (until a checkpoint collects it) goes to the new holders of its manifest
   * too, as at put (Journal.append): whoever has the manifest has the record. Best effort.
   */
  private async recordAlongside (fileId: string): Promise<void> {
    const { catalog, replicator } = this.o
    const record = catalog.journal.addRecordOf(fileId)
    if (record === undefined) return
    const existing = catalog.holders.of(record)
    const alongside = catalog.holders.of(fileId).filter(peer => !existing.includes(peer))
    if (alongside.length === 0) return
    try {
      const { holders } = await replicator.replicateStored(record, 1, { existing, alongside })
      catalog.holders.add(record, holders)
    } catch (err) {
      this.log.debug({ blob: record.slice(0, 12), err: (err as Error).message }, 'add record not copied beside its manifest; next pass')
    }
  }

  /** Brings each file up to its target as peers allow; `onFile` gets how many gained copies so far. */
  private async repairFiles (files: ReturnType<Catalog['underReplicated']>, onFile: (repaired: number) => void): Promise<void> {
    const { catalog } = this.o
    let repaired = 0
    for (const file of files) {
      if (this.stopped) break
      const shortfalls: BlobShortfall[] = []
      for (const blobId of [...new Set([...catalog.chunksOf(file.row).map(c => c.id), file.id])]) {
        const existing = catalog.holders.of(blobId)
        const { holders, shortfall } = await this.o.replicator.replicateStored(blobId, file.target, { existing })
        catalog.holders.add(blobId, holders)
        if (shortfall !== undefined) shortfalls.push(shortfall)
      }
      await this.recordAlongside(file.id)
      if (catalog.refreshReplicas(file) > file.replicas) repaired++
      // Why copies are still missing (or that none are), for the dashboard's badge.
      catalog.shortfalls.replace(file.row, shortfalls)
      onFile(repaired)
    }
  }
}
