// The networked half of a node: the libp2p host, the holder side (block server) and the owner side
// (replicator + repair), joined to the vault. Started after the vault is consistent, stopped first.
import type { Logger } from 'pino'
import { deriveKey } from '../crypto/index.ts'
import { createNetwork, DEFAULT_OVERLAY, DhtRouting, type Network, type OverlayOptions } from '../net/index.ts'
import { createMessenger, type Messenger } from '../messaging/index.ts'
import { Auditor, BlockClient, BlockServer, DEFAULT_INBOUND_BUDGET, OwnerReplication, Replicator, Scrubber, type BlockServerOptions } from '../replication/index.ts'
import { ByteBudget } from '../protocols/index.ts'
import type { Vault } from '../files/index.ts'
import type { Identity } from '../identity/index.ts'
import type { ResolvedNodeConfig } from './config.ts'
import type { NodeTuning } from './node.ts'
import { storageCaps } from './storage-limits.ts'

export interface Networking {
  network: Network
  replicator: Replicator
  client: BlockClient
  /** Node IDs of the peers connected now. */
  livePeers: () => string[]
  replication: OwnerReplication
  blockServer: BlockServer
  auditor: Auditor
  scrubber: Scrubber
  messenger: Messenger
  /** Kademlia routing when the node runs the DHT (--dht, --relay, --nat); else undefined. */
  routing: DhtRouting | undefined
  stop: () => Promise<void>
}

/** The DHT overlay these flags ask for, or undefined for the LAN mesh. */
export function overlayOf (config: ResolvedNodeConfig): OverlayOptions | undefined {
  if (!config.dht && !config.relay && !config.behindNat) return undefined
  return { ...DEFAULT_OVERLAY, relay: config.relay, behindNat: config.behindNat }
}

/** Bounded connections with the DHT: it finds whoever it needs, no one keeps everyone. */
export const DHT_MAX_CONNECTIONS = 48

export async function startNetworking (config: ResolvedNodeConfig, tuning: NodeTuning, identity: Identity, networkKey: Uint8Array, vault: Vault, log: Logger, holdDeletions: () => boolean): Promise<Networking> {
  const network = createNetwork({
    privateKey: identity.privateKey,
    networkKey,
    listen: config.listen,
    bootstrap: config.peers,
    mdns: config.mdns,
    log,
    timing: tuning.networkTiming,
    overlay: overlayOf(config),
    limits: {
      ...(overlayOf(config) != null ? { maxConnections: DHT_MAX_CONNECTIONS } : {}),
      ...(config.maxConnections != null ? { maxConnections: config.maxConnections } : {}),
      ...config.networkLimits
    }
  })
  await network.start()
  try {
    return await joinVault(config, tuning, identity, network, vault, log, holdDeletions)
  } catch (err) {
    await network.stop()
    throw err
  }
}

async function joinVault (config: ResolvedNodeConfig, tuning: NodeTuning, identity: Identity, network: Network, vault: Vault, log: Logger, holdDeletions: () => boolean): Promise<Networking> {
  const livePeers = (): string[] => network.peers().map(p => p.nodeId)
  // The auditor is made below; a holder's report of lost copies can only arrive after start().
  let auditor: Auditor | undefined
  const routing = network.libp2p.services.dht != null ? new DhtRouting({ libp2p: network.libp2p, log: log.child({ sub: 'dht' }) }) : undefined
  const blockServer = await startBlockServer(config, identity, network, vault, log, (holder, ids) => auditor?.fault(holder, ids, 'missing') ?? 0, routing)
  routing?.start()
  const client = new BlockClient({ libp2p: network.libp2p, timeoutMs: tuning.blockTimeoutMs })
  const onWrongBytes = (peer: string, owner: string, id: string): void => {
    if (owner === identity.nodeId) auditor?.fault(peer, [id], 'wrong')
    else auditor?.countFault('wrong')
  }
  const replicator = new Replicator({ client, store: vault.store, ownerId: identity.nodeId, livePeers, log, onWrongBytes })
  const replication = new OwnerReplication({ replicator, catalog: vault.catalog, ownerId: identity.nodeId, livePeers, log, repairAfterMs: config.repairAfterSeconds * 1000, repairEveryMs: tuning.repairEveryMs, client, sweepEveryMs: tuning.sweepEveryMs, holdDeletions })
  auditor = startAuditor(config, tuning, identity, vault, client, livePeers, log, () => replication.schedule(0))
  const scrubber = new Scrubber({
    store: vault.store,
    ownerId: identity.nodeId,
    client,
    fetchOwn: async (id, signal) => await replicator.fetch(identity.nodeId, id, signal),
    livePeers,
    log,
    everyMs: config.scrubEverySeconds * 1000,
    bytesPerSecond: tuning.scrubBytesPerSecond
  })
  scrubber.start()
  vault.remote = replicator
  vault.replication = replication
  const onConnect = (peer: string): void => {
    replication.peerConnected(peer)
    auditor?.peerConnected(peer)
  }
  const onDisconnect = (peer: string): void => replication.peerDisconnected(peer)
  network.on('peer:connect', onConnect)
  network.on('peer:disconnect', onDisconnect)
  replication.start()
  const messenger = createMessenger({
    network, db: vault.catalog.db, textKey: deriveKey(identity.vaultKey, 'distri-vault/messages/v1', 'texts'), privateKey: identity.privateKey, log,
    senderRate: { burst: config.messageBurst, perSecond: config.messageRatePerSecond },
    broadcast: routing != null ? 'gossip' : 'flood'
  })
  await messenger.start()
  return {
    network,
    replicator,
    client,
    livePeers,
    replication,
    blockServer,
    auditor,
    scrubber,
    messenger,
    routing,
    stop: async () => {
      await messenger.stop()
      routing?.stop()
      network.off('peer:connect', onConnect)
      network.off('peer:disconnect', onDisconnect)
      await scrubber.stop()
      await auditor?.stop()
      await replication.stop()
      vault.remote = undefined
      vault.replication = undefined
      await blockServer.stop()
      await network.stop()
    }
  }
}

function startAuditor (config: ResolvedNodeConfig, tuning: NodeTuning, identity: Identity, vault: Vault, client: BlockClient, livePeers: () => string[], log: Logger, onCopiesLost: () => void): Auditor {
  const auditor = new Auditor({
    client,
    store: vault.store,
    catalog: vault.catalog,
    ownerId: identity.nodeId,
    livePeers,
    log,
    auditEveryMs: config.auditEverySeconds * 1000,
    afterConnectMs: tuning.auditAfterConnectMs,
    budgetBytesPerPeriod: tuning.auditBudgetBytes,
    onCopiesLost
  })
  auditor.start()
  return auditor
}

/** The holder side, with its disk caps (defaults from the free disk) and its inbound memory budget. */
async function startBlockServer (config: ResolvedNodeConfig, identity: Identity, network: Network, vault: Vault, log: Logger, onLost: BlockServerOptions['onLost'], routing?: DhtRouting): Promise<BlockServer> {
  const heldForOthers = Object.entries(vault.store.usage()).reduce((sum, [owner, bytes]) => owner === identity.nodeId ? sum : sum + bytes, 0)
  const caps = await storageCaps(config, config.dataDir, heldForOthers)
  const inboundBudget = new ByteBudget({
    totalBytes: config.inboundBufferBytes ?? DEFAULT_INBOUND_BUDGET.totalBytes,
    perPeerBytes: config.inboundBufferPerPeerBytes ?? DEFAULT_INBOUND_BUDGET.perPeerBytes
  })
  log.info({ ...caps, inboundBufferBytes: inboundBudget.totalBytes, inboundBufferPerPeerBytes: inboundBudget.perPeerBytes }, 'holder limits')
  // With the DHT, a holder announces each owner it holds blobs of (provideOwner re-announces only
  // when due), so an owner that lost its disk finds its holders without asking every node.
  const provide = (owner: string): void => {
    if (owner !== identity.nodeId) void routing?.provideOwner(owner).catch(() => {})
  }
  const blockServer = new BlockServer({ libp2p: network.libp2p, store: vault.store, log, ...caps, inboundBudget, onLost, onStored: owner => provide(owner) })
  await blockServer.start()
  for (const owner of Object.keys(vault.store.usage())) provide(owner)
  return blockServer
}
