// Builds the libp2p host of a node: TCP + private network (swarm key) + Noise + Yamux, identify
// and ping, mDNS on request, and the limits that keep a flood of connections or streams from
// exhausting the node.

import { createLibp2p, type Libp2p, type ServiceFactoryMap } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, type Identify } from '@libp2p/identify'
import { ping, type Ping } from '@libp2p/ping'
import type { ComponentLogger, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { noiseCrypto } from './noise-crypto.ts'
import { withQuietDecoder } from './noise-decoder.ts'
import { privateNetwork } from './private-network.ts'
import type { RefusalReporter } from './refusals.ts'
import { InboundGuard } from './inbound-guard.ts'
import { networkKeySecret } from './swarm-key.ts'
import type { OverlayServices } from './overlay-services.ts'
import type { OverlayOptions } from './overlay-options.ts'

// A type alias, not an interface: libp2p's ServiceMap needs the implicit index signature.
export type NetworkServices = {
  identify: Identify
  ping: Ping
} & Partial<OverlayServices>

export type NetworkLibp2p = Libp2p<NetworkServices>

export interface NetworkLimits {
  /** Upgraded connections; past this libp2p refuses inbound ones and prunes the least useful. */
  maxConnections: number
  /** New inbound connections per second from one host. */
  inboundConnectionsPerHostPerSecond: number
  /** Inbound connections waiting for or in their handshake at once, all IPs together. */
  maxPendingInbound: number
  /** Handshakes at once from one IP; more wait their turn (see inbound-guard.ts). */
  handshakesPerHost: number
  /** Connections from one IP waiting for a handshake; past this they are refused. */
  queuedHandshakesPerHost: number
  /** Failed handshakes from one IP within 10 s before it is throttled (one handshake at a time,
   * `throttledHandshakeGapMs` apart, for `throttleMs` after its last failure). */
  failedHandshakesBeforeThrottle: number
  throttledHandshakeGapMs: number
  throttleMs: number
  /** A connection must finish its handshake within this. */
  handshakeTimeoutMs: number
  /** Concurrent inbound yamux streams on one connection, all protocols together. */
  maxStreamsPerConnection: number
  /** Unread bytes a peer may send on one stream before it must wait (yamux window; default 16 MiB). */
  maxStreamWindowBytes: number
}

export const DEFAULT_LIMITS: NetworkLimits = {
  maxConnections: 128,
  // libp2p's own per-IP limit refuses whoever comes after a flood from the same IP, members too;
  // the guard's per-IP queue and throttle do that job fairly, this is only a backstop.
  inboundConnectionsPerHostPerSecond: 1000,
  maxPendingInbound: 128,
  handshakesPerHost: 4,
  queuedHandshakesPerHost: 16,
  failedHandshakesBeforeThrottle: 10,
  throttledHandshakeGapMs: 100,
  throttleMs: 60_000,
  handshakeTimeoutMs: 5_000,
  maxStreamsPerConnection: 256,
  maxStreamWindowBytes: 4 * 1024 * 1024
}

export interface Libp2pNodeOptions {
  privateKey: PrivateKey
  networkKey: Uint8Array
  listen: Multiaddr
  mdns: boolean
  limits: NetworkLimits
  logger: ComponentLogger
  refusals: RefusalReporter
  guard: InboundGuard
  /** DHT, gossipsub, relay, hole punching (overlay-services.ts); absent: the LAN mesh only. */
  overlay?: OverlayOptions
  /** Bootstrap addresses, for libp2p's bootstrap discovery when `overlay` is on. */
  bootstrap?: Multiaddr[]
}

/**
 * The connection count libp2p itself refuses inbound connections at. On the LAN mesh that is
 * `maxConnections`. With the DHT, `maxConnections` is the trimmer's target (connection-trimmer.ts)
 * and libp2p's hard cap sits above it: a node at its bound must still accept the owner that comes
 * to store a copy or the reader that comes to fetch one (they found it through the DHT), like
 * go-libp2p's low/high water marks. The trimmer brings it back down once those connections idle.
 */
export function hardConnectionCap (maxConnections: number, overlay?: OverlayOptions): number {
  return overlay == null ? maxConnections : maxConnections + Math.max(16, maxConnections)
}

/** The inbound guard for these limits. */
export function createInboundGuard (limits: NetworkLimits): InboundGuard {
  return new InboundGuard({
    handshakesPerHost: limits.handshakesPerHost,
    queuedPerHost: limits.queuedHandshakesPerHost,
    failuresBeforeThrottle: limits.failedHandshakesBeforeThrottle,
    failureWindowMs: 10_000,
    throttleMs: limits.throttleMs,
    throttledGapMs: limits.throttledHandshakeGapMs,
    // Half of the pending cap: IPs without failures (members) always find room.
    maxThrottledPending: Math.max(1, Math.floor(limits.maxPendingInbound / 2))
  })
}

export async function createLibp2pNode (options: Libp2pNodeOptions): Promise<NetworkLibp2p> {
  const { limits, refusals } = options
  const protector = privateNetwork({ key: networkKeySecret(options.networkKey), timeoutMs: limits.handshakeTimeoutMs })
  const { overlay } = options
  const listen = [options.listen.toString()]
  // Behind NAT, also listen through a relay: peers reach us at <relay>/p2p-circuit/p2p/<us>.
  if (overlay?.behindNat === true) listen.push('/p2p-circuit')
  // The overlay's packages (kad-dht, gossipsub, relay, dcutr, AutoNAT: ~550 modules, a third of
  // what a node loads) and mDNS are imported only by a node that uses them: a LAN-mesh node starts
  // ~0.4 CPU-seconds sooner (docs/PERFORMANCE.md), and so does every test and CLI-started node.
  const parts = overlay != null ? await import('./overlay-services.ts') : undefined
  const discovery = [
    ...(options.mdns ? [(await import('@libp2p/mdns')).mdns()] : []),
    ...(parts != null ? parts.overlayDiscovery(options.bootstrap ?? []) : [])
  ]
  return await createLibp2p<NetworkServices>({
    privateKey: options.privateKey,
    logger: options.logger,
    addresses: { listen },
    transports: [...(parts != null ? [parts.overlayTransport()] : []), tcp({
      // Sockets, not upgraded connections: leaves room for handshakes in flight above maxConnections.
      maxConnections: hardConnectionCap(limits.maxConnections, overlay) + limits.maxPendingInbound,
      inboundSocketInactivityTimeout: 60_000,
      outboundSocketInactivityTimeout: 60_000
    })],
    connectionProtector: () => refusals.guard(protector),
    connectionGater: options.guard.gater(),
    connectionEncrypters: [withQuietDecoder(noise({ crypto: noiseCrypto }))],
    streamMuxers: [yamux({
      maxInboundStreams: limits.maxStreamsPerConnection,
      maxOutboundStreams: limits.maxStreamsPerConnection,
      streamOptions: { maxStreamWindowSize: limits.maxStreamWindowBytes }
    })],
    peerDiscovery: discovery,
    services: {
      identify: identify(),
      // Our latency probe and kad-dht's routing table both ping a new peer at once: with libp2p's
      // default of one outbound ping stream, the DHT's ping lost the race, the peer never entered
      // the routing table, and a node whose only peer was its bootstrap kept an empty table.
      ping: ping({ timeout: 5_000, maxOutboundStreams: 4, maxInboundStreams: 4 }),
      ...(parts != null && overlay != null ? parts.overlayServices(overlay) : {})
    } as ServiceFactoryMap<NetworkServices>,
    connectionManager: {
      maxConnections: hardConnectionCap(limits.maxConnections, overlay),
      inboundConnectionThreshold: limits.inboundConnectionsPerHostPerSecond,
      maxIncomingPendingConnections: limits.maxPendingInbound,
      inboundUpgradeTimeout: limits.handshakeTimeoutMs,
      addressDialTimeout: limits.handshakeTimeoutMs,
      dialTimeout: limits.handshakeTimeoutMs * 2,
      maxParallelDials: 32,
      maxDialQueueLength: 256,
      // Our own PeerKeeper redials, with a back-off that never gives up on known peers.
      reconnectRetries: 0
    },
    // Latency and liveness are measured by our own ping loop (latency.ts).
    connectionMonitor: { enabled: false }
  })
}
