// net/: the node's libp2p host — TCP, private network (swarm key), Noise, Yamux, identify, ping —
// and what keeps it connected: bootstrap, peer exchange, mDNS, redial with back-off.

import { Network, type NetworkOptions } from './network.ts'

export { Network, DEFAULT_TIMING } from './network.ts'
export type { NetworkOptions, NetworkStats, NetworkEvents, NetworkTiming } from './network.ts'
export type { PeerInfo, PeerPath, PeerReachability } from './peer-table.ts'
export type { Reachability } from './network.ts'
export { DEFAULT_OVERLAY, DHT_PROTOCOL } from './overlay-options.ts'
export type { OverlayOptions } from './overlay-options.ts'
export { DhtRouting, noHoldersError } from './dht-routing.ts'
export type { Refusal } from './refusals.ts'
export { DEFAULT_LIMITS } from './libp2p-node.ts'
export type { NetworkLibp2p, NetworkLimits, NetworkServices } from './libp2p-node.ts'
export { Backoff } from './backoff.ts'
export { generateNetworkKey, parseNetworkKey } from './swarm-key.ts'
export { toMultiaddr, peerIdOf, withPeerId, isDialableTcp } from './addresses.ts'
export { blobKey, nodeIdsOf, type Routing } from './routing.ts'
export { FullMeshRouting } from './full-mesh-routing.ts'
export { placeReplicas, placementWeight } from './rendezvous.ts'

/** A network host for one node; nothing listens or dials until `start()`. */
export function createNetwork (options: NetworkOptions): Network {
  return new Network(options)
}
export { TrafficMeter, type TrafficConnection, type ByteCounts, type HourTraffic } from './traffic.ts'
