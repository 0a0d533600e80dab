// What a node's overlay (overlay-services.ts) is asked to be, and its protocol name: kept apart
// from the services themselves so that reading them loads none of kad-dht, gossipsub, the relay,
// dcutr or AutoNAT (~550 modules, a third of a node's start-up), which only a node started with
// --dht, --relay or --nat loads (libp2p-node.ts imports the services on demand).

export const DHT_PROTOCOL = '/distri-vault/kad/1.0.0'

export interface OverlayOptions {
  /** Offer a circuit relay to the other members (start --relay). */
  relay: boolean
  /** This node is behind NAT: a DHT client that listens through relays (start --nat). */
  behindNat: boolean
  /** Reservations a relay keeps at once. */
  maxRelayReservations: number
  /** Past maxConnections, idle connections older than this are closed (connection-trimmer.ts). */
  connectionGraceMs: number
}

export const DEFAULT_OVERLAY: OverlayOptions = { relay: false, behindNat: false, maxRelayReservations: 64, connectionGraceMs: 30_000 }
