// The networked half of a node: the libp2p host, the routing over it, the holder side (block
// server) and the owner side (replicator + repair, audits, scrub), and messaging. Started after the
// vault is consistent, stopped first. It gets the store and catalog, never the vault: the vault is
// built afterwards with this half's redundancy and remote fetch (node.ts).
import type { Logger } from 'pino'
import { deriveKey } from '../crypto/index.ts'
import type { Catalog } from '../catalog/index.ts'
import type { EventBus } from '../events/index.ts'
import { createNetwork, DEFAULT_OVERLAY, DhtRouting, FullMeshRouting, type Network, type OverlayOptions, type Routing } from '../net/index.ts'
import { ANNOUNCEMENT_KINDS, createMessenger, type Messenger } from '../messaging/index.ts'
import { Auditor, BlockClient, BlockServer, ChainClient, ChainSender, ChainServer, DEFAULT_INBOUND_BUDGET, OwnerReplication, Replicator, Scrubber, type BlockServerOptions } from '../replication/index.ts'
import { ByteBudget } from '../protocols/index.ts'
import type { Identity } from '../identity/index.ts'
import type { BlobStore } from '../store/index.ts'
import type { ResolvedNodeConfig } from './config.ts'
import type { NodeTuning } from './tuning.ts'
import { storageCaps } from './storage-limits.ts'
import { dataPaths } from './data-dir.ts'

export interface NetworkedParts {
  /** The libp2p host and what keeps it connected (net/). */
  network: Network
  /** Which peers to ask about a blob or an owner: the DHT with --dht, else the full mesh of connected peers. */
  routing: Routing
  /** Block transfers for this node: its own blobs out and back, any owner's blobs fetched. */
  replicator: Replicator
  client: BlockClient
  replication: OwnerReplication
  blockServer: BlockServer
  /** The holder side of chained replication (chain/1). */
  chainServer: ChainServer
  /** The owner side of chained replication: grants, first hop, receipts. */
  chainSender: ChainSender
  auditor: Auditor
  scrubber: Scrubber
  messenger: Messenger
  /** Kademlia routing when the node runs the DHT (--dht, --relay, --nat); else undefined. */
  dht: DhtRouting | undefined
  stop: () => Promise<void>
}

/** The DHT overlay these flags ask for, or undefined for the LAN mesh. */
export function overlayOf (config: ResolvedNodeConfig): OverlayOptions | undefined {
  if (!config.dht && !config.relay && !config.behindNat) return undefined
  return { ...DEFAULT_OVERLAY, relay: config.relay, behindNat: config.behindNat }
}

/** Bounded connections with the DHT: it finds whoever it needs, no one keeps everyone. */
export const DHT_MAX_CONNECTIONS = 48

export interface NetworkedPartsOptions {
  config: ResolvedNodeConfig
  tuning: NodeTuning
  identity: Identity
  networkKey: Uint8Array
  store: BlobStore
  catalog: Catalog
  events: EventBus
  log: Logger
  /** True while deletions must not reach holders (restored from the phrase, no `recover` yet). */
  holdDeletions: () => boolean
}

export async function startNetworkedParts (o: NetworkedPartsOptions): Promise<NetworkedParts> {
  const overlay = overlayOf(o.config)
  const network = createNetwork({
    privateKey: o.identity.privateKey,
    networkKey: o.networkKey,
    listen: o.config.listen,
    bootstrap: o.config.peers,
    mdns: o.config.mdns,
    log: o.log,
    peerMemoryFile: dataPaths(o.config.dataDir).knownPeers,
    timing: o.tuning.networkTiming,
    overlay,
    limits: {
      ...(overlay != null ? { maxConnections: DHT_MAX_CONNECTIONS } : {}),
      ...(o.config.maxConnections != null ? { maxConnections: o.config.maxConnections } : {}),
      ...o.config.networkLimits
    }
  })
  await network.start()
  try {
    return await joinNetwork(o, network)
  } catch (err) {
    await network.stop()
    throw err
  }
}

async function joinNetwork (o: NetworkedPartsOptions, network: Network): Promise<NetworkedParts> {
  const { config, tuning, identity, store, catalog, events, log } = o
  // The auditor is made below; a holder's report of lost copies can only arrive after start().
  let auditor: Auditor | undefined
  // With the DHT (--dht, --relay, --nat) placement, fetch, delete fan-out, sweep, recover, repair,
  // audits, scrub and health all ask Kademlia (DhtRouting): copies go to the XOR-nearest peers,
  // holders announce each owner they hold blobs of. Without it, the full mesh of connected peers.
  const dht = network.libp2p.services.dht != null ? new DhtRouting({ libp2p: network.libp2p, log: log.child({ sub: 'dht' }) }) : undefined
  const routing: Routing = dht ?? new FullMeshRouting(() => network.peers().map(p => p.nodeId))
  const blockServer = await startBlockServer(o, network, (holder, ids) => auditor?.fault(holder, ids, 'missing') ?? 0, dht)
  dht?.start()
  const client = new BlockClient({ libp2p: network.libp2p, timeoutMs: tuning.blockTimeoutMs })
  const onWrongBytes = (peer: string, owner: string, id: string): void => {
    if (owner === identity.nodeId) auditor?.fault(peer, [id], 'wrong')
    else auditor?.countFault('wrong')
  }
  const chainClient = new ChainClient(network.libp2p)
  const chainServer = new ChainServer({ libp2p: network.libp2p, holder: blockServer, privateKey: identity.privateKey, client: chainClient, log })
  if (config.chain) await chainServer.start()
  const chainSender = new ChainSender({ client: chainClient, ownerId: identity.nodeId, privateKey: identity.privateKey, hopTimeoutMs: client.timeoutMs, log })
  const replicator = new Replicator({ client, store, ownerId: identity.nodeId, routing, log, onWrongBytes, chain: config.chain ? chainSender : undefined })
  const replication = new OwnerReplication({ replicator, catalog, ownerId: identity.nodeId, routing, log, repairAfterMs: config.repairAfterSeconds * 1000, repairEveryMs: tuning.repairEveryMs, client, sweepEveryMs: tuning.sweepEveryMs, holdDeletions: o.holdDeletions, onProgress: (progress) => events.emit('job:progress', { job: 'repair', progress: { ...progress } }) })
  auditor = new Auditor({
    client,
    store,
    catalog,
    ownerId: identity.nodeId,
    routing,
    log,
    auditEveryMs: config.auditEverySeconds * 1000,
    afterConnectMs: tuning.auditAfterConnectMs,
    budgetBytesPerPeriod: tuning.auditBudgetBytes,
    onCopiesLost: () => replication.schedule(0),
    onJob: ({ trigger, holder, ...progress }) => events.emit('job:progress', { job: 'audit', trigger, progress: { holder, ...progress } })
  })
  auditor.start()
  const scrubber = new Scrubber({
    store,
    ownerId: identity.nodeId,
    client,
    fetchOwn: async (id, signal) => await replicator.fetch(identity.nodeId, id, signal),
    routing,
    log,
    everyMs: config.scrubEverySeconds * 1000,
    bytesPerSecond: tuning.scrubBytesPerSecond,
    // Every pass, timed (--scrub-every) or asked for, shows in the node's activity.
    onJob: ({ trigger, ...progress }) => events.emit('job:progress', { job: 'scrub', trigger, progress })
  })
  scrubber.start()
  const onConnect = (peer: string): void => {
    replication.peerConnected(peer)
    auditor?.peerConnected(peer)
    events.emit('peer:joined', { nodeId: peer, at: new Date().toISOString() })
  }
  const onDisconnect = (peer: string): void => {
    replication.peerDisconnected(peer)
    events.emit('peer:left', { nodeId: peer, at: new Date().toISOString() })
  }
  network.on('peer:connect', onConnect)
  network.on('peer:disconnect', onDisconnect)
  replication.start()
  const messenger = createMessenger({
    network, db: catalog.db, textKey: deriveKey(identity.vaultKey, 'distri-vault/messages/v1', 'texts'), privateKey: identity.privateKey, log, events,
    senderRate: { burst: config.messageBurst, perSecond: config.messageRatePerSecond },
    broadcast: dht != null ? 'gossip' : 'flood'
  })
  await messenger.start()
  const stopAnnouncing = announceFiles(events, messenger, identity.nodeId, log)
  return {
    network,
    routing,
    replicator,
    client,
    replication,
    blockServer,
    chainServer,
    chainSender,
    auditor,
    scrubber,
    messenger,
    dht,
    stop: async () => {
      stopAnnouncing()
      await messenger.stop()
      dht?.stop()
      network.off('peer:connect', onConnect)
      network.off('peer:disconnect', onDisconnect)
      await scrubber.stop()
      await auditor?.stop()
      await replication.stop()
      await chainServer.stop()
      await blockServer.stop()
      await network.stop()
    }
  }
}

/**
 * Tells every node that this owner stored or removed a file, whatever entry point did it: sizes
 * only, never a name or an ID, so holders learn nothing they could not see on their own disk.
 * Best effort. Returns the unsubscribe.
 */
function announceFiles (events: EventBus, messenger: Messenger, owner: string, log: Logger): () => void {
  const announce = (kind: string, bytes: number): void => {
    messenger.announce(kind, { owner, bytes }).catch((err: unknown) => { log.debug({ err, kind }, 'announcement not sent') })
  }
  const offs = [
    events.on('file:stored', ({ size }) => announce(ANNOUNCEMENT_KINDS.fileStored, size)),
    events.on('file:removed', ({ size }) => announce(ANNOUNCEMENT_KINDS.fileRemoved, size))
  ]
  return () => { for (const off of offs) off() }
}

/** The holder side, with its disk caps (defaults from the free disk) and its inbound memory budget. */
async function startBlockServer (o: NetworkedPartsOptions, network: Network, onLost: BlockServerOptions['onLost'], dht?: DhtRouting): Promise<BlockServer> {
  const { config, identity, store, log } = o
  const heldForOthers = Object.entries(store.usage()).reduce((sum, [owner, bytes]) => owner === identity.nodeId ? sum : sum + bytes, 0)
  const caps = await storageCaps(config, config.dataDir, heldForOthers)
  const inboundBudget = new ByteBudget({
    totalBytes: config.inboundBufferBytes ?? DEFAULT_INBOUND_BUDGET.totalBytes,
    perPeerBytes: config.inboundBufferPerPeerBytes ?? DEFAULT_INBOUND_BUDGET.perPeerBytes
  })
  log.info({ ...caps, inboundBufferBytes: inboundBudget.totalBytes, inboundBufferPerPeerBytes: inboundBudget.perPeerBytes }, 'holder limits')
  // With the DHT, a holder announces each owner it holds blobs of (provideOwner re-announces only
  // when due), so an owner that lost its disk finds its holders without asking every node.
  const provide = (owner: string): void => {
    if (owner !== identity.nodeId) void dht?.provideOwner(owner).catch(() => {})
  }
  // And stops announcing an owner once the last of its blobs is deleted here: the record would
  // send that owner's recover to a node with nothing of it (records elsewhere expire on their own).
  const forgetIfEmpty = (owner: string): void => {
    if ((store.usage()[owner] ?? 0) === 0) void dht?.forgetOwner(owner).catch(() => {})
  }
  const blockServer = new BlockServer({ libp2p: network.libp2p, store, log, ...caps, inboundBudget, onLost, onStored: owner => provide(owner), onDeleted: owner => forgetIfEmpty(owner), serveFault: o.tuning.serveFault })
  await blockServer.start()
  for (const owner of Object.keys(store.usage())) provide(owner)
  return blockServer
}
