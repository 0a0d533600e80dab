// A distri-vault node: wires identity, store, catalog, files, network and API together and owns
// their start/stop lifecycle. This is the one place that knows about every subsystem. Each part is
// built whole, in order, with what it needs: the vault first without a network (crash clean-up,
// rebuild), then the networked parts, then the vault that replicates through them, then the
// services the API is given, then the API. Nothing is set on a part after it is built.
import { stat, rm } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { pino, type Logger } from 'pino'
import { Catalog } from '../catalog/index.ts'
import { Vault } from '../files/index.ts'
import { hasIdentity, loadIdentity, type Identity } from '../identity/index.ts'
import { BlobStore } from '../store/index.ts'
import { writeFileAtomic } from '../atomic/index.ts'
import { startApiServer, type ApiServer, type NodeServices, type NodeStatus, type PeerStatus, type RecoverRequest } from '../api/index.ts'
import { EventBus } from '../events/index.ts'
import { dataPaths, type DataPaths } from './data-dir.ts'
import { initDataDir, readNetworkKeyFile, type InitResult } from './init.ts'
import { startNetworkedParts, type NetworkedParts } from './networking.ts'
import type { FileHealth, RecoverProgress, ScrubProgress, ScrubResult } from '../replication/index.ts'
import type { Messenger } from '../messaging/index.ts'
import { VaultError } from '../errors.ts'
import { nodeConfigSchema, type NodeConfig, type ResolvedNodeConfig } from './config.ts'
import { parseHostPort } from './flags.ts'
import { acquireRunLock, releaseRunLock } from './run-lock.ts'
import { tuneHeapForStreaming } from '../runtime/index.ts'
import { DuplicateIdentityCheck } from './duplicate-identity.ts'
import { RunningNode, type RecoveryState } from './services.ts'
import type { NodeTuning } from './tuning.ts'
import { FolderSyncs } from '../sync/index.ts'

export type { NodeStatus, PeerStatus } from '../api/index.ts'
export type { NodeTuning } from './tuning.ts'

interface NodeParts {
  config: ResolvedNodeConfig
  paths: DataPaths
  log: Logger
  tuning: NodeTuning
  initialized: InitResult | undefined
  identity: Identity
  catalog: Catalog
  vault: Vault
  events: EventBus
  net: NetworkedParts
  duplicates: DuplicateIdentityCheck
  syncs: FolderSyncs
  services: RunningNode
  api: ApiServer
}

export class VaultNode {
  readonly config: ResolvedNodeConfig
  readonly paths: DataPaths
  readonly log: Logger
  readonly tuning: NodeTuning
  /** Set when start had to create the data directory (the phrase must be shown once). */
  readonly initialized: InitResult | undefined
  readonly identity: Identity
  readonly vault: Vault
  /** The node's one event bus (events/). */
  readonly events: EventBus
  /** Folders kept stored (sync/); resumed at start. */
  readonly syncs: FolderSyncs
  /** What the API is given: status, jobs, metrics (services.ts). */
  readonly services: NodeServices
  readonly apiUrl: string
  private readonly parts: NodeParts
  private stopping: Promise<void> | undefined
  private stopped = false

  /** Built by createNode() once every part runs. */
  constructor (parts: NodeParts) {
    this.parts = parts
    this.config = parts.config
    this.paths = parts.paths
    this.log = parts.log
    this.tuning = parts.tuning
    this.initialized = parts.initialized
    this.identity = parts.identity
    this.vault = parts.vault
    this.events = parts.events
    this.syncs = parts.syncs
    this.services = parts.services
    this.apiUrl = parts.api.url
  }

  get nodeId (): string { return this.identity.nodeId }

  /** The networked parts while the node runs; undefined once stopped. */
  get networking (): NetworkedParts | undefined {
    return this.stopped ? undefined : this.parts.net
  }

  status (): NodeStatus { return this.parts.services.status() }
  peers (): PeerStatus[] { return this.parts.services.peers() }
  countUnderReplicated (): number { return this.parts.services.countUnderReplicated() }
  messenger (): Messenger { return this.parts.services.messenger() }
  async recover (onProgress?: (progress: RecoverProgress) => void, options: RecoverRequest = {}): Promise<RecoverProgress & { files: number, missing: number }> { return await this.parts.services.recover(onProgress, options) }
  async scrub (onProgress?: (progress: ScrubProgress) => void): Promise<ScrubResult> { return await this.parts.services.scrub(onProgress) }
  async health (ref: string): Promise<FileHealth> { return await this.parts.services.health(ref) }

  /** Idempotent and complete: the API, the network and the catalog are closed, the lock released. */
  async stop (): Promise<void> {
    this.stopping ??= this.doStop()
    await this.stopping
  }

  private async doStop (): Promise<void> {
    const { api, duplicates, net, catalog, paths, log } = this.parts
    await api.close().catch((err: unknown) => log.warn({ err }, 'closing the API failed'))
    await this.parts.syncs.stop()
    await duplicates.stop()
    await net.stop().catch((err: unknown) => log.warn({ err }, 'stopping the network failed'))
    this.stopped = true
    catalog.close()
    await rm(paths.apiFile, { force: true })
    await releaseRunLock(paths.runMarker)
    log.info('node stopped')
  }
}

/** Starts a node the way `distri-vault start` does; on failure everything started is stopped. */
export async function createNode (input: NodeConfig, tuning: NodeTuning = {}): Promise<VaultNode> {
  const config = nodeConfigSchema.parse(input)
  const paths = dataPaths(config.dataDir)
  // Synchronous: a log line written just before the recovery phrase banner must not land inside
  // it (an async write of an earlier line could complete after the banner's). Logs are rare at info.
  const log = tuning.log ?? pino({ level: config.logLevel }, pino.destination({ dest: 2, sync: true }))
  tuneHeapForStreaming()
  const initialized = await hasIdentity(paths.root) ? undefined : await initDataDir({ dataDir: paths.root })
  const identity = await loadIdentity(paths.root)
  const unclean = await acquireRunLock(paths.runMarker)
  const undo: Array<() => Promise<void>> = [async () => { await rm(paths.apiFile, { force: true }); await releaseRunLock(paths.runMarker) }]
  try {
    const { store, catalog, catalogExisted } = await openStorage(paths, identity.vaultKey)
    undo.push(async () => { catalog.close() })
    // The vault before the network: no copies made or fetched (LocalRedundancy).
    const recovery: RecoveryState = { pending: await stat(paths.recoverPending).then(() => true, () => false), markerPath: paths.recoverPending }
    await settleVault(new Vault({ nodeId: identity.nodeId, vaultKey: identity.vaultKey, store, catalog, defaultReplicas: config.replicas }), catalog, catalogExisted, unclean, recovery.pending, log)
    const networkKey = await readNetworkKeyFile(paths.networkKey)
    if (recovery.pending) log.warn('this identity was restored from its recovery phrase: run `distri-vault recover`; until then deletions are not sent to holders')
    const events = new EventBus(log)
    const net = await startNetworkedParts({ config, tuning, identity, networkKey, store, catalog, events, log, holdDeletions: () => recovery.pending })
    undo.push(async () => { await net.stop() })
    // The vault that serves: its copies are made and fetched through the network.
    const vault = new Vault({ nodeId: identity.nodeId, vaultKey: identity.vaultKey, store, catalog, defaultReplicas: config.replicas, remote: net.replicator, redundancy: net.replication, events, holdCheckpoints: () => recovery.pending })
    const duplicates = new DuplicateIdentityCheck({ libp2p: net.network.libp2p, log: log.child({ sub: 'net' }) })
    await duplicates.start()
    undo.push(async () => { await duplicates.stop() })
    // Announced like any put: the vault publishes each version a sync stores on the bus.
    const syncs = new FolderSyncs({ vault, log: log.child({ sub: 'sync' }), timing: tuning.syncTiming })
    syncs.start()
    undo.push(async () => { await syncs.stop() })
    const services = new RunningNode({ nodeId: identity.nodeId, vault, net, events, duplicates, recovery, syncs, log })
    const token = randomBytes(32).toString('hex')
    const api = await startApiServer({ services, listen: parseHostPort(config.api, '--api'), token, log: log.child({ sub: 'api' }) })
    undo.push(async () => { await api.close() })
    await writeFileAtomic(paths.apiFile, JSON.stringify({ url: api.url, token, pid: process.pid, nodeId: identity.nodeId }, null, 2) + '\n', 0o600)
    log.info({ nodeId: identity.nodeId, api: api.url }, 'node ready')
    return new VaultNode({ config, paths, log, tuning, initialized, identity, catalog, vault, events, net, duplicates, syncs, services, api })
  } catch (err) {
    for (const step of undo.reverse()) await step().catch((e: unknown) => log.warn({ err: e }, 'stopping a part failed'))
    log.info('node stopped')
    throw err
  }
}

async function openStorage (paths: DataPaths, vaultKey: Buffer): Promise<{ store: BlobStore, catalog: Catalog, catalogExisted: boolean }> {
  const catalogExisted = await stat(paths.catalog).then(() => true, () => false)
  const store = new BlobStore(paths.storage)
  await store.start()
  try {
    return { store, catalog: new Catalog(paths.catalog, vaultKey), catalogExisted }
  } catch (err) {
    throw new VaultError('CORRUPT', `${paths.catalog} cannot be opened (${(err as Error).message}); move it away and start again: the catalog is rebuilt from the sealed manifests`, { cause: err })
  }
}

/** Before any network: rebuild a missing catalog, clean up after a crash, start the journal. */
async function settleVault (vault: Vault, catalog: Catalog, catalogExisted: boolean, unclean: boolean, recoverPending: boolean, log: Logger): Promise<void> {
  let unreadable = 0
  if (!catalogExisted) {
    const rebuilt = await vault.rebuild()
    if (rebuilt.files > 0 || rebuilt.skipped > 0) log.warn(rebuilt, 'catalog was missing: rebuilt it from the sealed manifests')
    if (rebuilt.skipped + rebuilt.damaged > 0) log.warn({ skipped: rebuilt.skipped, damaged: rebuilt.damaged }, 'blobs of the history or files it lists could not be read here: nothing is taken for an orphan; run `distri-vault scrub`, then `distri-vault recover`')
    unreadable = rebuilt.skipped + rebuilt.damaged
  }
  if (unclean) {
    // Blobs of files the rebuild skipped are not orphans, though nothing uses them yet; nor are
    // those of a file whose add record is one of the damaged blobs (the history does not name it).
    const cleaned = await vault.recoverFromCrash({ orphans: unreadable === 0, checkpoint: !recoverPending })
    if (cleaned.pendingDropped + cleaned.orphansRemoved > 0) log.warn(cleaned, 'the last run did not stop cleanly: dropped unfinished puts and orphaned blobs')
    else log.info('the last run did not stop cleanly; nothing was left half-done')
  } else if (catalog.countPending() > 0) {
    // A put that failed and could not clean up after itself (the disk was full): nothing runs
    // before start, so every pending row is a leftover.
    const pendingDropped = catalog.countPending()
    await vault.collect(catalog.dropPending())
    log.warn({ pendingDropped }, 'dropped unfinished puts left by the last run')
  }
  if (await vault.startJournal()) log.info({ files: catalog.countFiles() }, 'started the journal with a checkpoint of the catalog')
}
