// A distri-vault node: wires identity, store, catalog, files, network and API together and owns
// their start/stop lifecycle. This is the one place that knows about every subsystem.
import { stat, rm } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { pino, type Logger } from 'pino'
import { Catalog } from '../catalog/index.ts'
import { Vault } from '../files/index.ts'
import { hasIdentity, loadIdentity, type Identity } from '../identity/index.ts'
import { BlobStore, writeFileAtomic } from '../store/index.ts'
import { startApiServer, type ApiServer } from '../api/index.ts'
import { dataPaths, type DataPaths } from './data-dir.ts'
import { initDataDir, readNetworkKeyFile, type InitResult } from './init.ts'
import { startNetworking, type Networking } from './networking.ts'
import { fileHealth, recoverBlobs, type AuditSummary, type FileHealth, type RecoverProgress, type ScrubProgress, type ScrubResult, type ScrubSummary } from '../replication/index.ts'
import type { NetworkTiming, Reachability } from '../net/index.ts'
import { ANNOUNCEMENT_KINDS, type Messenger } from '../messaging/index.ts'
import { VaultError } from '../errors.ts'
import { nodeConfigSchema, type NodeConfig, type ResolvedNodeConfig } from './config.ts'
import { acquireRunLock, releaseRunLock } from './run-lock.ts'
import { tuneHeapForStreaming } from '../runtime/index.ts'
import { DuplicateIdentityCheck, type DuplicateIdentity } from './duplicate-identity.ts'

export interface NodeStatus {
  nodeId: string
  addresses: string[]
  peers: PeerStatus[]
  files: number
  storage: Record<string, number>
  underReplicated: number
  /** The last scrub of this node's disk (null: none since start). */
  scrub: ScrubSummary | null
  /** This owner's audits of its holders since start. */
  audit: AuditSummary | null
  /** Restored from the recovery phrase and `recover` has not completed yet (deletions are held). */
  recoverPending: boolean
  /** Another node running with this identity, as a peer reported it; null while none is known. */
  duplicateIdentity: DuplicateIdentity | null
  /** How other nodes reach this one: 'public', 'relayed' (behind NAT, through a relay) or 'unreachable'. */
  reachability: Reachability
}

/** For programs embedding a node, and tests: a logger, and faster timers than a real network wants. */
export interface NodeTuning {
  log?: Logger
  networkTiming?: Partial<NetworkTiming>
  repairEveryMs?: number
  blockTimeoutMs?: number
  /** A holder that (re)connects is audited this long after. */
  auditAfterConnectMs?: number
  /** Bytes of own copies read to check holders' proofs per audit period. */
  auditBudgetBytes?: number
  /** Read-rate cap of the background scrub (default 4 MiB/s). */
  scrubBytesPerSecond?: number
  /** How often holders are swept for blobs this owner deleted. */
  sweepEveryMs?: number
}

/**
 * A peer: connected (since = when the connection opened) or known and away (since = when it left).
 * A --peer address never reached has nodeId null; away and configured peers say why the last
 * dial failed (lastError, lastErrorAt, and a likely cause in `hint`, e.g. a wrong network key).
 */
export interface PeerStatus {
  nodeId: string | null
  addresses: string[]
  latencyMs: number | null
  since: string
  connected: boolean
  configured?: boolean
  lastError?: string
  lastErrorAt?: string
  hint?: string
}

export class VaultNode {
  readonly config: ResolvedNodeConfig
  readonly paths: DataPaths
  readonly log: Logger
  /** Set when start() had to create the data directory (the phrase must be shown once). */
  initialized: InitResult | undefined
  identity!: Identity
  vault!: Vault
  apiUrl = ''
  private catalog: Catalog | undefined
  private api: ApiServer | undefined
  networking: Networking | undefined
  private duplicates: DuplicateIdentityCheck | undefined
  private stopping: Promise<void> | undefined
  /** This disk was restored from the phrase and has not run a complete `recover` yet (data-dir.ts). */
  private recoverPending = false
  private started = false

  readonly tuning: NodeTuning

  constructor (config: NodeConfig, tuning: NodeTuning = {}) {
    this.config = nodeConfigSchema.parse(config)
    this.paths = dataPaths(this.config.dataDir)
    this.tuning = tuning
    // Synchronous: a log line written just before the recovery phrase banner must not land inside
    // it (an async write of an earlier line could complete after the banner's). Logs are rare at info.
    this.log = tuning.log ?? pino({ level: this.config.logLevel }, pino.destination({ dest: 2, sync: true }))
  }

  get nodeId (): string { return this.identity.nodeId }

  async start (): Promise<void> {
    tuneHeapForStreaming()
    if (!await hasIdentity(this.paths.root)) this.initialized = await initDataDir({ dataDir: this.paths.root })
    this.identity = await loadIdentity(this.paths.root)
    const unclean = await acquireRunLock(this.paths.runMarker)
    this.started = true
    try {
      await this.openVault(unclean)
      const networkKey = await readNetworkKeyFile(this.paths.networkKey)
      this.recoverPending = await stat(this.paths.recoverPending).then(() => true, () => false)
      if (this.recoverPending) this.log.warn('this identity was restored from its recovery phrase: run `distri-vault recover`; until then deletions are not sent to holders')
      this.networking = await startNetworking(this.config, this.tuning, this.identity, networkKey, this.vault, this.log, () => this.recoverPending)
      this.duplicates = new DuplicateIdentityCheck({ libp2p: this.networking.network.libp2p, log: this.log.child({ sub: 'net' }) })
      await this.duplicates.start()
      const token = randomBytes(32).toString('hex')
      this.api = await startApiServer({ node: this, listen: this.config.api, token, log: this.log.child({ sub: 'api' }) })
      this.apiUrl = this.api.url
      await writeFileAtomic(this.paths.apiFile, JSON.stringify({ url: this.apiUrl, token, pid: process.pid, nodeId: this.nodeId }, null, 2) + '\n', 0o600)
      this.log.info({ nodeId: this.nodeId, api: this.apiUrl }, 'node ready')
    } catch (err) {
      await this.stop()
      throw err
    }
  }

  private async openVault (unclean: boolean): Promise<void> {
    const catalogExisted = await stat(this.paths.catalog).then(() => true, () => false)
    const store = new BlobStore(this.paths.storage)
    await store.start()
    try {
      this.catalog = new Catalog(this.paths.catalog, this.identity.vaultKey)
    } catch (err) {
      throw new VaultError('CORRUPT', `${this.paths.catalog} cannot be opened (${(err as Error).message}); move it away and start again: the catalog is rebuilt from the sealed manifests`, { cause: err })
    }
    this.vault = new Vault({ nodeId: this.identity.nodeId, vaultKey: this.identity.vaultKey, store, catalog: this.catalog, defaultReplicas: this.config.replicas })
    if (!catalogExisted) {
      const rebuilt = await this.vault.rebuild()
      if (rebuilt.files > 0 || rebuilt.skipped > 0) this.log.warn(rebuilt, 'catalog was missing: rebuilt it from the sealed manifests')
    }
    if (unclean) {
      const cleaned = await this.vault.recoverFromCrash()
      if (cleaned.pendingDropped + cleaned.orphansRemoved > 0) this.log.warn(cleaned, 'the last run did not stop cleanly: dropped unfinished puts and orphaned blobs')
      else this.log.info('the last run did not stop cleanly; nothing was left half-done')
    } else if (this.catalog.countPending() > 0) {
      // A put that failed and could not clean up after itself (the disk was full): nothing runs
      // before start, so every pending row is a leftover.
      const pendingDropped = this.catalog.countPending()
      await this.vault.collect(this.catalog.dropPending())
      this.log.warn({ pendingDropped }, 'dropped unfinished puts left by the last run')
    }
    if (await this.vault.startJournal()) this.log.info({ files: this.vault.catalog.countFiles() }, 'started the journal with a checkpoint of the catalog')
  }

  status (): NodeStatus {
    return {
      nodeId: this.nodeId,
      addresses: this.networking?.network.addresses() ?? [],
      peers: this.peers(),
      files: this.vault.catalog.countFiles(),
      storage: this.vault.store.usage(),
      underReplicated: this.countUnderReplicated(),
      scrub: this.networking?.scrubber.last() ?? null,
      audit: this.networking?.auditor.summary() ?? null,
      recoverPending: this.recoverPending,
      duplicateIdentity: this.duplicates?.duplicate() ?? null,
      reachability: this.networking?.network.reachability() ?? 'unreachable'
    }
  }

  /** Connected peers first, then the known ones that are away. */
  peers (): PeerStatus[] {
    const network = this.networking?.network
    return [
      ...(network?.peers() ?? []).map(p => ({ ...p, connected: true })),
      ...(network?.awayPeers() ?? []).map(p => ({
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
    return this.vault.catalog.countUnderReplicated(this.networking?.replication.allTarget() ?? 1)
  }

  messenger (): Messenger {
    if (this.networking === undefined) throw new VaultError('NOT_RUNNING', 'the network is not running')
    return this.networking.messenger
  }

  /**
   * Tells every node that this owner stored or removed a file: sizes only, never a name or an ID,
   * so holders learn nothing they could not see on their own disk. Best effort.
   */
  announceFile (what: 'stored' | 'removed', bytes: number): void {
    const kind = what === 'stored' ? ANNOUNCEMENT_KINDS.fileStored : ANNOUNCEMENT_KINDS.fileRemoved
    this.networking?.messenger.announce(kind, { owner: this.nodeId, bytes }).catch((err: unknown) => {
      this.log.debug({ err, kind }, 'announcement not sent')
    })
  }

  /** Peer connects and disconnects, for live views; returns the unsubscribe function. */
  onPeerChange (listener: (change: { event: 'connect' | 'disconnect', nodeId: string, at: string }) => void): () => void {
    const network = this.networking?.network
    if (network === undefined) return () => {}
    const onConnect = (nodeId: string): void => listener({ event: 'connect', nodeId, at: new Date().toISOString() })
    const onDisconnect = (nodeId: string): void => listener({ event: 'disconnect', nodeId, at: new Date().toISOString() })
    network.on('peer:connect', onConnect)
    network.on('peer:disconnect', onDisconnect)
    return () => {
      network.off('peer:connect', onConnect)
      network.off('peer:disconnect', onDisconnect)
    }
  }

  /** Pulls every blob of this owner back from the peers, then rebuilds the catalog from them. */
  async recover (onProgress?: (progress: RecoverProgress) => void): Promise<RecoverProgress & { files: number }> {
    const networking = this.networking
    if (networking === undefined) throw new VaultError('NOT_RUNNING', 'the network is not running')
    const peers = networking.livePeers()
    if (peers.length === 0) throw new VaultError('UNREACHABLE', 'no peer is connected: start the node with --peer HOST:PORT of a node of your network, then run recover again')
    const result = await recoverBlobs({
      client: networking.client,
      store: this.vault.store,
      holders: this.vault.catalog.holders,
      ownerId: this.nodeId,
      peers,
      log: this.log.child({ sub: 'recover' }),
      onProgress
    })
    const rebuilt = await this.vault.rebuild()
    this.vault.catalog.refreshAllReplicas()
    const { unlisted, ...summary } = result
    this.log.info({ ...summary, unlisted, files: rebuilt.files, history: rebuilt.history }, 'recovered from peers')
    // With every peer's folder seen, the history restarts from a checkpoint of what came back, and
    // what it does not use is garbage: collected here and on the holders. After a partial
    // recover nothing is collected: a holder that was not seen may keep the rest of the history.
    if (unlisted === 0 && result.failed === 0) {
      await this.vault.journal.checkpoint() // first: it absorbs any other history found, then its blobs may go
      await this.vault.collectOrphans()
      // The history is known now: the deletions held back since `init --recover` may go (minus
      // blobs that files use again), and so may the sweep.
      await rm(this.paths.recoverPending, { force: true })
      this.recoverPending = false
      networking.replication.schedule(0)
      void networking.replication.sweepHolders()
    }
    return { ...summary, files: this.vault.catalog.countFiles() }
  }

  /** Verifies every blob on this node's disk now, at full speed, and heals what is bad. */
  async scrub (onProgress?: (progress: ScrubProgress) => void): Promise<ScrubResult> {
    if (this.networking === undefined) throw new VaultError('NOT_RUNNING', 'the node is not running')
    return await this.networking.scrubber.run({ onProgress })
  }

  async health (ref: string): Promise<FileHealth> {
    const record = this.vault.resolve(ref)
    return await fileHealth({
      catalog: this.vault.catalog,
      store: this.vault.store,
      ownerId: this.nodeId,
      livePeers: this.networking?.livePeers() ?? [],
      client: this.networking?.client,
      trusted: this.networking === undefined ? undefined : (peer, blobId) => this.networking!.auditor.trusted(peer, blobId)
    }, record)
  }

  /** Idempotent and complete: the API, the network and the catalog are closed, the lock released. */
  async stop (): Promise<void> {
    this.stopping ??= this.doStop()
    await this.stopping
  }

  private async doStop (): Promise<void> {
    await this.api?.close().catch((err: unknown) => this.log.warn({ err }, 'closing the API failed'))
    await this.duplicates?.stop()
    await this.networking?.stop().catch((err: unknown) => this.log.warn({ err }, 'stopping the network failed'))
    this.networking = undefined
    this.catalog?.close()
    if (this.started) {
      await rm(this.paths.apiFile, { force: true })
      await releaseRunLock(this.paths.runMarker)
    }
    this.log.info('node stopped')
  }
}

export async function createNode (config: NodeConfig, tuning?: NodeTuning): Promise<VaultNode> {
  const node = new VaultNode(config, tuning)
  await node.start()
  return node
}
