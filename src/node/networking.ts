// The networked half of a node: the libp2p host, the holder side (block server) and the owner side
// (replicator + repair), joined to the vault. Started after the vault is consistent, stopped first.
import type { Logger } from 'pino'
import { deriveKey } from '../crypto/index.ts'
import { createNetwork, type Network } from '../net/index.ts'
import { createMessenger, type Messenger } from '../messaging/index.ts'
import { BlockClient, BlockServer, OwnerReplication, Replicator } from '../replication/index.ts'
import type { Vault } from '../files/index.ts'
import type { Identity } from '../identity/index.ts'
import type { ResolvedNodeConfig } from './config.ts'
import type { NodeTuning } from './node.ts'

export interface Networking {
  network: Network
  replicator: Replicator
  client: BlockClient
  /** Node IDs of the peers connected now. */
  livePeers: () => string[]
  replication: OwnerReplication
  blockServer: BlockServer
  messenger: Messenger
  stop: () => Promise<void>
}

export async function startNetworking (config: ResolvedNodeConfig, tuning: NodeTuning, identity: Identity, networkKey: Uint8Array, vault: Vault, log: Logger): Promise<Networking> {
  const network = createNetwork({
    privateKey: identity.privateKey,
    networkKey,
    listen: config.listen,
    bootstrap: config.peers,
    mdns: config.mdns,
    log,
    timing: tuning.networkTiming
  })
  await network.start()
  try {
    return await joinVault(config, tuning, identity, network, vault, log)
  } catch (err) {
    await network.stop()
    throw err
  }
}

async function joinVault (config: ResolvedNodeConfig, tuning: NodeTuning, identity: Identity, network: Network, vault: Vault, log: Logger): Promise<Networking> {
  const livePeers = (): string[] => network.peers().map(p => p.nodeId)
  const blockServer = new BlockServer({ libp2p: network.libp2p, store: vault.store, log, maxStorageBytes: config.maxStorageBytes })
  await blockServer.start()
  const client = new BlockClient({ libp2p: network.libp2p, timeoutMs: tuning.blockTimeoutMs })
  const replicator = new Replicator({ client, store: vault.store, ownerId: identity.nodeId, livePeers, log })
  const replication = new OwnerReplication({ replicator, catalog: vault.catalog, ownerId: identity.nodeId, livePeers, log, repairAfterMs: config.repairAfterSeconds * 1000, repairEveryMs: tuning.repairEveryMs })
  vault.remote = replicator
  vault.replication = replication
  const onConnect = (peer: string): void => replication.peerConnected(peer)
  const onDisconnect = (peer: string): void => replication.peerDisconnected(peer)
  network.on('peer:connect', onConnect)
  network.on('peer:disconnect', onDisconnect)
  replication.start()
  const messenger = createMessenger({ network, db: vault.catalog.db, textKey: deriveKey(identity.vaultKey, 'distri-vault/messages/v1', 'texts'), privateKey: identity.privateKey, log })
  await messenger.start()
  return {
    network,
    replicator,
    client,
    livePeers,
    replication,
    blockServer,
    messenger,
    stop: async () => {
      await messenger.stop()
      network.off('peer:connect', onConnect)
      network.off('peer:disconnect', onDisconnect)
      await replication.stop()
      vault.remote = undefined
      vault.replication = undefined
      await blockServer.stop()
      await network.stop()
    }
  }
}
