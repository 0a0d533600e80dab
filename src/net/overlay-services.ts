// The libp2p services that take a node beyond one LAN (issue 16): Kademlia routing on our own
// protocol name, gossipsub broadcast, circuit relay (server on --relay, client listening through
// relays when behind NAT), hole punching (dcutr) and AutoNAT. All of it runs inside the private
// network: the connection protector admits only holders of the swarm key, and the DHT protocol
// name is ours, so nothing is offered on (or learnt from) the public IPFS DHT.

import { kadDHT, passthroughMapper, type KadDHT } from '@libp2p/kad-dht'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { createTopicScoreParams } from '@libp2p/gossipsub/score'
import { circuitRelayServer, circuitRelayTransport, type CircuitRelayService } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { autoNAT } from '@libp2p/autonat'
import { bootstrap } from '@libp2p/bootstrap'
import { identifyPush, type IdentifyPush } from '@libp2p/identify'
import type { Multiaddr } from '@multiformats/multiaddr'
import { ANNOUNCE_MAX_FRAME_BYTES, GOSSIP_TOPICS } from '../protocols/index.ts'
import { peerIdOf } from './addresses.ts'
import { DHT_PROTOCOL, type OverlayOptions } from './overlay-options.ts'

export { DHT_PROTOCOL, DEFAULT_OVERLAY, type OverlayOptions } from './overlay-options.ts'

export type OverlayServices = {
  dht: KadDHT
  pubsub: GossipSub
  autonat: unknown
  dcutr: unknown
  relay?: CircuitRelayService
  identifyPush: IdentifyPush
}

/** The service factories for createLibp2p; `relay` only on a relay. */
export function overlayServices (overlay: OverlayOptions): Record<string, unknown> {
  const services: Record<string, unknown> = {
    dht: kadDHT({
      protocol: DHT_PROTOCOL,
      // A member address is a member address, private or not: the default mapper drops
      // 10/8, 192.168/16 and 127/8, which in a home or lab network leaves the table empty.
      peerInfoMapper: passthroughMapper,
      // libp2p's automatic choice calls every private address unreachable; we decide instead.
      clientMode: overlay.behindNat,
      // Every 30 s instead of 5 min: a member that just became reachable (a relay reservation)
      // is found by its neighbours within one interval. Cheap at the sizes a private network has.
      querySelfInterval: 30_000
    }),
    pubsub: gossipsub({
      emitSelf: false,
      allowPublishToZeroTopicPeers: true,
      // Members behind one home router, or many nodes on one test machine, share an IP; the
      // swarm key, not the IP, is what keeps Sybils out of a private network.
      scoreParams: { IPColocationFactorWeight: 0, topics: topicScores() },
      // A frame past this is dropped before it is even parsed.
      maxInboundDataLength: ANNOUNCE_MAX_FRAME_BYTES + 4 * 1024
    }),
    autonat: autoNAT(),
    dcutr: dcutr(),
    // Tells connected peers at once when our protocols or addresses change (libp2p 3 ships it as a
    // service of its own, not part of identify). Without it a node behind NAT that got its relay
    // address and turned DHT server stayed, for the relay, a client with no circuit address: the
    // relay never put it in its routing table, so no lookup ever returned it to anyone.
    identifyPush: identifyPush()
  }
  if (overlay.relay) {
    services.relay = circuitRelayServer({
      // Only members get past the handshake, and our block protocols move MiB-sized chunks:
      // a relayed connection is not limited to 128 KiB / 2 minutes as on the public network.
      reservations: { applyDefaultLimit: false, maxReservations: overlay.maxRelayReservations }
    })
  }
  return services
}

/** The relay transport: dials /p2p-circuit addresses, and reserves a slot when listening on one. */
export function overlayTransport (): ReturnType<typeof circuitRelayTransport> {
  return circuitRelayTransport({ reservationCompletionTimeout: 10_000 })
}

/** libp2p's bootstrap discovery for the addresses that name their peer; the PeerKeeper dials the
 * rest (host:port) and keeps retrying all of them. */
export function overlayDiscovery (bootstrapAddrs: Multiaddr[]): Array<ReturnType<typeof bootstrap>> {
  const list = bootstrapAddrs.filter(ma => peerIdOf(ma) != null).map(String)
  return list.length > 0 ? [bootstrap({ list, timeout: 100 })] : []
}

/** Our topics are quiet (a message now and then), so only invalid messages count: the validator
 * rejects forged, stale, oversized and malformed envelopes, and one such message costs its
 * sender -100 — below gossipsub's graylist threshold (-80) — decaying by half about every 10 s. */
function topicScores (): Record<string, ReturnType<typeof createTopicScoreParams>> {
  const params = createTopicScoreParams({
    topicWeight: 1,
    timeInMeshWeight: 0,
    firstMessageDeliveriesWeight: 0,
    meshMessageDeliveriesWeight: 0,
    meshFailurePenaltyWeight: 0,
    invalidMessageDeliveriesWeight: -100,
    invalidMessageDeliveriesDecay: 0.93
  })
  return Object.fromEntries(GOSSIP_TOPICS.map(topic => [topic, params]))
}
