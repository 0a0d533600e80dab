// What a running node does for its clients (the API's NodeServices): status, peers, counts for
// /metrics, the catalog's records of copies, recover, scrub, health. Built once every part exists;
// nothing is set on it afterwards.
import { rm } from 'node:fs/promises'
import type { Logger } from 'pino'
import type { CopyRecords, NodeMetrics, NodeServices, NodeStatus, PeerStatus, RecoverRequest, TrafficSources } from '../api/index.ts'
import type { EventBus } from '../events/index.ts'
import type { Vault } from '../files/index.ts'
import type { Messenger } from '../messaging/index.ts'
import { nodeIdsOf, noHoldersError } from '../net/index.ts'
import { replication as replicaPolicy } from '../redundancy/index.ts'
import { fileHealth, recoverBlobs, type FileHealth, type RecoverProgress, type ScrubProgress, type ScrubResult } from '../replication/index.ts'
import { VaultError } from '../errors.ts'
import type { DuplicateIdentityCheck } from './duplicate-identity.ts'
import type { NetworkedParts } from './networking.ts'
import type { FolderSyncs } from '../sync/index.ts'

/** Restored from the phrase and `recover` has not completed yet: deletions are held (data-dir.ts). */
export interface RecoveryState {
  pending: boolean
  /** The marker file that keeps `pending` across restarts. */
  readonly markerPath: string
}

export interface RunningNodeParts {
  nodeId: string
  vault: Vault
  net: NetworkedParts
  events: EventBus
  duplicates: DuplicateIdentityCheck
  recovery: RecoveryState
  /** Folders kept stored (sync/). */
  syncs: FolderSyncs
  log: Logger
}

export class RunningNode implements NodeServices {
  readonly nodeId: string
  readonly vault: Vault
  readonly events: EventBus
  private readonly p: RunningNodeParts
  private recovering: Promise<unknown> = Promise.resolve()

  constructor (parts: RunningNodeParts) {
    this.p = parts
    this.nodeId = parts.nodeId
    this.vault = parts.vault
    this.events = parts.events
  }

  status (): NodeStatus {
    const { net } = this.p
    return {
      nodeId: this.nodeId,
      addresses: net.network.addresses(),
      peers: this.peers(),
      files: this.vault.catalog.countFiles(),
      storage: this.vault.store.usage(),
      underReplicated: this.countUnderReplicated(),
      scrub: net.scrubber.last(),
      audit: net.auditor.summary(),
      recoverPending: this.p.recovery.pending,
      duplicateIdentity: this.p.duplicates.duplicate() ?? null,
      sync: this.p.syncs.list(),
      reachability: net.network.reachability()
    }
  }

  syncs (): FolderSyncs { return this.p.syncs }

  reachablePeers (): string[] { return nodeIdsOf(this.p.net.routing.allPeers()) }

  // Two readers, not one snapshot: the meter asks for the listen ports once per inbound socket it
  // identifies, and must not list every connection each time.
  readonly trafficSources: TrafficSources = {
    connections: () => this.p.net.network.libp2p.getConnections().map(c => ({ peer: c.remotePeer.toString(), remoteAddr: c.remoteAddr.toString(), direction: c.direction })),
    listenPorts: () => this.p.net.network.addresses().map(a => Number(/\/tcp\/(\d+)/.exec(a)?.[1] ?? -1))
  }

  // Readers, not a snapshot: each call queries the catalog afresh (the dashboard reads per request).
  readonly copyRecords: CopyRecords = {
    copiesPerFile: (online) => this.vault.catalog.holders.copiesPerFile(online),
    holdersPerFile: () => this.vault.catalog.holders.holdersPerFile(),
    shortfallsPerFile: () => this.vault.catalog.shortfalls.all(),
    holdingsPerPeer: () => this.vault.catalog.holders.holdingsPerPeer(),
    newestTargets: () => this.vault.catalog.newestTargets()
  }

  /** Connected peers first, then the known ones that are away. */
  peers (): PeerStatus[] {
    const { network } = this.p.net
    return [
      ...network.peers().map(p => ({ ...p, connected: true })),
      ...network.awayPeers().map(p => ({
        nodeId: p.nodeId,
        addresses: p.addresses,
        latencyMs: null,
        since: p.awaySince.toISOString(),
        connected: false,
        configured: p.configured,
        ...(p.lastError === undefined ? {} : { lastError: p.lastError, lastErrorAt: p.lastErrorAt?.toISOString(), hint: p.hint })
      }))
    ]
  }

  countUnderReplicated (): number {
    return this.vault.catalog.countUnderReplicated(replicaPolicy.copiesWanted('all', this.p.net.replication.reachablePeers()))
  }

  private storedBytes (): NodeMetrics['storedBytes'] {
    const usage = this.vault.store.usage()
    let others = 0
    for (const [owner, bytes] of Object.entries(usage)) if (owner !== this.nodeId) others += bytes
    return { own: usage[this.nodeId] ?? 0, others }
  }

  metrics (): NodeMetrics {
    const { net } = this.p
    return {
      files: this.vault.catalog.countFiles(),
      underReplicated: this.countUnderReplicated(),
      storedBytes: this.storedBytes(),
      messagesDropped: net.messenger.stats().dropped,
      refusedConnections: net.network.stats().refusedConnections,
      holderFaults: net.auditor.faults(),
      blockRefusals: net.blockServer.refusals(),
      scrubBadBlobs: net.scrubber.badFound(),
      chainCopies: net.chainSender.stats()
    }
  }

  messenger (): Messenger {
    return this.p.net.messenger
  }

  /** Pulls every blob of this owner back from the peers, then rebuilds the catalog from them. */
  /**
   * `acceptMissing`: complete even if files the history lists were found on no peer: they leave
   * the history for good (their holder is gone, not away). Without it such a recover is partial.
   */
  async recover (onProgress?: (progress: RecoverProgress) => void, options: RecoverRequest = {}): Promise<RecoverProgress & { files: number, missing: number, unseen: number }> {
    // One at a time: a run's listing lives in the catalog's tables, which the next run empties.
    const run = this.recovering.then(async () => {
      try {
        return await this.recoverFrom(this.p.net, onProgress, options)
      } finally {
        this.vault.catalog.recoverListing.clear()
      }
    })
    this.recovering = run.catch(() => {})
    return await run
  }

  private async recoverFrom (net: NetworkedParts, onProgress: ((progress: RecoverProgress) => void) | undefined, options: RecoverRequest): Promise<RecoverProgress & { files: number, missing: number, unseen: number }> {
    const { log, recovery } = this.p
    const peers = nodeIdsOf(await net.routing.holdersOf(this.nodeId))
    if (peers.length === 0) throw noHoldersError(net.routing, net.network.stats().connectedPeers)
    const publish = (progress: Record<string, unknown>): void => { this.events.emit('job:progress', { job: 'recover', trigger: 'request', progress }) }
    publish({ phase: 'listing', peers: peers.length, found: 0, fetched: 0, bytes: 0, failed: 0, denied: 0, refused: 0, unreferenced: 0 })
    const listing = this.vault.catalog.recoverListing
    const result = await recoverBlobs({
      client: net.client,
      fetch: async (id, holders, signal) => await net.replicator.fetchFrom(this.nodeId, id, holders, signal),
      store: this.vault.store,
      holders: this.vault.catalog.holders,
      listing,
      recognise: (id, bytes) => this.vault.recognise(id, bytes),
      recogniseStored: async (id) => await this.vault.recogniseStored(id),
      treeChunks: async (id) => await this.vault.treeChunksOf(id),
      maxListed: options.maxListed,
      ownerId: this.nodeId,
      peers,
      log: log.child({ sub: 'recover' }),
      onProgress: (progress) => {
        publish({ ...progress })
        onProgress?.(progress)
      }
    }).catch((err: unknown) => {
      publish({ phase: 'failed', error: (err as Error).message })
      throw err
    })
    // A history found without its checkpoint waits for it (counted unseen), unless told to accept.
    const rebuilt = await this.vault.rebuild({ headless: options.acceptMissing === true ? 'files' : 'wait' })
    this.vault.catalog.refreshAllReplicas()
    const { unlisted, ...summary } = result
    // Files the history lists whose manifest no peer had: their holders are away (a peer that is
    // not connected is not listed, so `unlisted` does not see it).
    const missing = rebuilt.skipped
    // Records of the history known by their numbers and found on no peer: a holder away had them,
    // maybe a file's add record with everything else of that file (nothing else would tell).
    const { unseen } = rebuilt
    log.info({ ...summary, unlisted, missing, unseen, files: rebuilt.files, history: rebuilt.history }, 'recovered from peers')
    // With every peer's folder seen, the history restarts from a checkpoint of what came back, and
    // what it does not use is garbage: collected here and on the holders. After a partial
    // recover nothing is collected and no checkpoint is written: a holder that was not seen may
    // keep the rest of the history, and a checkpoint without those files would hide them from
    // every later recover (it covers their records).
    // A blob of this disk that fails its hash may be a record of the history: what the history
    // does not name would be collected. `scrub` heals it from a holder; until then nothing is settled.
    if (rebuilt.damaged > 0) log.warn({ damaged: rebuilt.damaged }, 'blobs on this disk are damaged: recover settles nothing until `distri-vault scrub` has healed them')
    // A refused lister's folder was not seen whole: like a peer that could not list it.
    if (unlisted === 0 && result.refused === 0 && result.failed === 0 && rebuilt.damaged === 0 && ((missing === 0 && unseen === 0) || options.acceptMissing === true)) {
      if (missing + unseen > 0) log.warn({ missing, unseen }, 'recover completed without files or records the history lists (accepted as lost): they leave the history')
      await this.vault.journal.checkpoint() // first: it absorbs any other history found, then its blobs may go
      await this.vault.collectOrphans()
      // What peers listed and no manifest names was never fetched: the garbage of the old disk (and
      // any junk a member made) is buried, so the holder sweep drops it as it would have before.
      for (let ids = listing.unreferencedIds('', 1000); ids.length > 0; ids = listing.unreferencedIds(ids[ids.length - 1], 1000)) {
        this.vault.catalog.journal.bury(ids)
      }
      // The history is known now: the deletions held back since `init --recover` may go (minus
      // blobs that files use again), and so may the sweep.
      await rm(recovery.markerPath, { force: true })
      recovery.pending = false
      net.replication.schedule(0)
      void net.replication.sweepHolders()
    }
    return { ...summary, files: this.vault.catalog.countFiles(), missing, unseen }
  }

  /** Verifies every blob on this node's disk now, at full speed, and heals what is bad. */
  async scrub (onProgress?: (progress: ScrubProgress) => void): Promise<ScrubResult> {
    // The scrubber publishes the pass on the bus itself (networking.ts), as it does for timed ones.
    return await this.p.net.scrubber.run({ onProgress, trigger: 'request' })
  }

  async health (ref: string): Promise<FileHealth> {
    const { net } = this.p
    const record = this.vault.resolve(ref)
    return await fileHealth({
      catalog: this.vault.catalog,
      store: this.vault.store,
      ownerId: this.nodeId,
      reachablePeers: nodeIdsOf(net.routing.allPeers()),
      client: net.client,
      trusted: (peer, blobId) => net.auditor.trusted(peer, blobId)
    }, record)
  }
}
