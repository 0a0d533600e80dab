// The node's place in the network: one libp2p host plus what keeps it connected (bootstrap and
// redial back-off, peer exchange, mDNS) and what it knows of its peers (since, addresses, latency).
// Other subsystems register their protocols on `network.libp2p` and listen to its events.

import { EventEmitter } from 'node:events'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import type { Connection, IdentifyResult, PeerId, PeerInfo as Libp2pPeerInfo, PrivateKey } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Logger } from 'pino'
import { VaultError } from '../errors.ts'
import { PEX_PROTOCOL } from '../protocols/index.ts'
import { isCircuit, isDialableTcp, toMultiaddr, withPeerId } from './addresses.ts'
import { createLibp2pLogger } from './libp2p-log.ts'
import { createInboundGuard, createLibp2pNode, DEFAULT_LIMITS, type NetworkLibp2p, type NetworkLimits } from './libp2p-node.ts'
import type { InboundGuard } from './inbound-guard.ts'
import { LatencyProbe } from './latency.ts'
import { PeerExchange } from './peer-exchange.ts'
import { PeerKeeper, type AwayPeer } from './peer-keeper.ts'
import { PeerMemory } from './peer-memory.ts'
import { PeerTable, type PeerInfo, type PeerPath } from './peer-table.ts'
import { RefusalReporter, type Refusal } from './refusals.ts'
import type { OverlayOptions } from './overlay-options.ts'
import { ConnectionTrimmer } from './connection-trimmer.ts'
import { DialBack } from './dial-back.ts'
import { ReachabilityJudge } from './reachability.ts'
import { Backoff } from './backoff.ts'
import { DhtTableKeeper } from './dht-table-keeper.ts'
import { listenThroughRelay, stopListeningThroughRelays } from './relay-listen.ts'

export interface NetworkTiming {
  /** First redial of a dropped peer or bootstrap address; doubles per failure… */
  redialInitialMs: number
  /** …up to this. */
  redialMaxMs: number
  pingIntervalMs: number
  /** Peers pinged per interval at most, unless more are needed to reach each peer every 3
   * intervals (latency.ts). */
  maxPingsPerRound: number
  /** Delay before telling our peers about a new peer (batches a burst of joins). */
  peerExchangeDelayMs: number
  /** Deadline of one peer exchange or ping. */
  requestTimeoutMs: number
  /** With the DHT and without --nat: first reachability check this long after the first
   * connection (identify runs first)… */
  reachabilityFirstCheckMs: number
  /** …again this often while no peer answered… */
  reachabilityRetryMs: number
  /** …this soon after a failed dial back (more evidence before a verdict of unreachable)… */
  reachabilityConfirmMs: number
  /** Deadline of one dial back (long: only a failure waits it out). */
  reachabilityDialMs: number
  /** …and this often once found reachable (addresses and routers change). */
  reachabilityRecheckMs: number
  /** Once judged unreachable: checked again this soon (a false verdict under load, a port
   * forwarded later), doubling per check that finds it still unreachable… */
  reachabilityUnreachableRecheckMs: number
  /** …up to this. A change of the node's own addresses checks again at once. */
  reachabilityUnreachableRecheckMaxMs: number
  /** With the DHT: connected DHT servers missing from the routing table are offered again this
   * often (dht-table-keeper.ts). */
  dhtTableRefillMs: number
}

export const DEFAULT_TIMING: NetworkTiming = {
  redialInitialMs: 1_000,
  redialMaxMs: 30_000,
  pingIntervalMs: 10_000,
  maxPingsPerRound: 10,
  peerExchangeDelayMs: 500,
  requestTimeoutMs: 5_000,
  reachabilityFirstCheckMs: 2_000,
  reachabilityRetryMs: 30_000,
  reachabilityConfirmMs: 10_000,
  reachabilityDialMs: 15_000,
  reachabilityRecheckMs: 30 * 60_000,
  reachabilityUnreachableRecheckMs: 60_000,
  reachabilityUnreachableRecheckMaxMs: 30 * 60_000,
  dhtTableRefillMs: 30_000
}

export interface NetworkOptions {
  /** The node's Ed25519 identity key; the node ID is its peer ID. */
  privateKey: PrivateKey
  /** The bytes of the swarm key file (network.key). */
  networkKey: Uint8Array
  /** 'host:port' or a multiaddr; port 0 picks a free port. */
  listen: string
  /** 'host:port' or multiaddrs, with or without /p2p/. */
  bootstrap: string[]
  mdns: boolean
  log: Logger
  /** Swap peer lists with peers (default true; tests turn it off to build sparse topologies). */
  peerExchange?: boolean
  /** Where the peers we were connected to are remembered across restarts (peer-memory.ts; the LAN
   * mesh only). Unset: nothing is remembered. */
  peerMemoryFile?: string
  timing?: Partial<NetworkTiming>
  limits?: Partial<NetworkLimits>
  /** Beyond one LAN (issue 16): kad-dht, gossipsub, relay, hole punching. Peer exchange is off
   * then, and peers found by the DHT are not all dialled: libp2p keeps `maxConnections`. */
  overlay?: OverlayOptions
}

export interface NetworkStats {
  connectedPeers: number
  /** Connections that failed the private-network handshake (another key, garbage). */
  refusedConnections: number
  /** Inbound connections turned away by a limit (rate per host, pending handshakes, max). */
  deniedConnections: number
  /** Inbound connections refused by the per-IP handshake queue (full, or a throttled IP's share used up). */
  guardRefusedConnections: number
  /** Inbound handshakes that failed or were abandoned, as the per-IP guard counts them. */
  failedHandshakes: number
  dials: number
  dialFailures: number
  peerExchanges: number
  connects: number
  disconnects: number
}

export interface NetworkEvents {
  'peer:connect': [nodeId: string]
  'peer:disconnect': [nodeId: string]
  refused: [refusal: Refusal]
}

interface Running {
  libp2p: NetworkLibp2p
  refusals: RefusalReporter
  guard: InboundGuard
  keeper: PeerKeeper
  exchange: PeerExchange | undefined
  latency: LatencyProbe
  trimmer: ConnectionTrimmer | undefined
  dialBack: DialBack | undefined
  memory: PeerMemory | undefined
  tableKeeper: DhtTableKeeper | undefined
  reachabilityTimer?: NodeJS.Timeout
}

export class Network extends EventEmitter<NetworkEvents> {
  readonly nodeId: string
  private readonly options: NetworkOptions
  private readonly log: Logger
  private readonly listenAddr: Multiaddr
  private readonly bootstrapAddrs: Multiaddr[]
  private readonly timing: NetworkTiming
  private readonly limits: NetworkLimits
  private readonly peerTable = new PeerTable()
  private running: Running | undefined
  private starting: Promise<void> | undefined
  private counters = { connects: 0, disconnects: 0 }
  /** Behind NAT: a DHT client listening through relays (--nat, or found unreachable). */
  private natMode: boolean
  /** What the reachability checks add up to (DHT without --nat). */
  private readonly judge = new ReachabilityJudge()
  private checkingReachability = false
  private reachabilityDueAt = 0
  /** Re-checks of a node judged unreachable, backing off while it stays so. */
  private readonly unreachableRecheck: Backoff
  /** Our own direct (non-relayed) addresses, to notice when they change. */
  private directAddrs = ''

  constructor (options: NetworkOptions) {
    super()
    this.options = options
    this.nodeId = peerIdFromPrivateKey(options.privateKey).toString()
    this.log = options.log.child({ sub: 'net' })
    this.listenAddr = parseListenAddr(options.listen)
    this.bootstrapAddrs = options.bootstrap.map(toMultiaddr)
    this.timing = { ...DEFAULT_TIMING, ...options.timing }
    this.limits = { ...DEFAULT_LIMITS, ...options.limits }
    this.natMode = options.overlay?.behindNat === true
    this.unreachableRecheck = new Backoff({ initialMs: this.timing.reachabilityUnreachableRecheckMs, maxMs: this.timing.reachabilityUnreachableRecheckMaxMs, jitter: 0.1 })
  }

  /** The libp2p host, to register protocols on and dial; only while started. */
  get libp2p (): NetworkLibp2p {
    if (this.running == null) throw new VaultError('NOT_RUNNING', 'the network is not started')
    return this.running.libp2p
  }

  async start (): Promise<void> {
    this.starting ??= this.startOnce().catch((err: unknown) => {
      this.starting = undefined
      throw err
    })
    await this.starting
  }

  private async startOnce (): Promise<void> {
    const refusals = new RefusalReporter(this.log, refusal => this.emitSafely('refused', refusal))
    const logger = createLibp2pLogger(this.log.child({ sub: 'libp2p' }), {
      onUpgradeFailure: (direction, remoteAddr, err) => refusals.upgradeFailed(direction, remoteAddr, err),
      onInboundDenied: (remoteAddr, why) => refusals.inboundDenied(remoteAddr, why)
    })
    let libp2p: NetworkLibp2p
    const guard = createInboundGuard(this.limits)
    try {
      libp2p = await createLibp2pNode({
        guard,
        privateKey: this.options.privateKey,
        networkKey: this.options.networkKey,
        listen: this.listenAddr,
        mdns: this.options.mdns,
        limits: this.limits,
        logger,
        refusals,
        overlay: this.options.overlay,
        bootstrap: this.bootstrapAddrs
      })
    } catch (err) {
      // libp2p wraps the socket error with a multi-line explanation and a stack: keep the one fact.
      const message = (err as Error).message
      const why = /EADDRINUSE/.test(message) ? 'address already in use (another node or program listens there; choose another port)' : message.split('\n').find(line => /E[A-Z]+:/.test(line))?.trim() ?? message.split('\n')[0]
      throw new VaultError('BAD_INPUT', `could not listen on ${this.options.listen}: ${why}`, { cause: err })
    }
    const keeper = new PeerKeeper({
      libp2p,
      log: this.log,
      redialInitialMs: this.timing.redialInitialMs,
      redialMaxMs: this.timing.redialMaxMs,
      maxAttemptsUnproven: 3,
      maxKnownPeers: this.limits.maxConnections * 2,
      bootstrapOnly: this.options.overlay != null
    })
    const exchange = this.options.peerExchange === false || this.options.overlay != null
      ? undefined
      : new PeerExchange({ libp2p, log: this.log, peers: this.peerTable, keeper, announceDelayMs: this.timing.peerExchangeDelayMs, timeoutMs: this.timing.requestTimeoutMs })
    const latency = new LatencyProbe({ libp2p, log: this.log, peers: this.peerTable, intervalMs: this.timing.pingIntervalMs, maxPerRound: this.timing.maxPingsPerRound, timeoutMs: this.timing.requestTimeoutMs, maxFailures: 3 })
    const trimmer = this.options.overlay != null ? new ConnectionTrimmer({ libp2p, log: this.log, maxConnections: this.limits.maxConnections, graceMs: this.options.overlay.connectionGraceMs }) : undefined
    const dialBack = this.options.overlay != null ? new DialBack({ libp2p, log: this.log, dialTimeoutMs: this.timing.reachabilityDialMs }) : undefined
    const memory = this.options.peerMemoryFile !== undefined && this.options.overlay == null ? new PeerMemory(this.options.peerMemoryFile, this.log) : undefined
    const tableKeeper = this.options.overlay != null ? new DhtTableKeeper({ libp2p, log: this.log, intervalMs: this.timing.dhtTableRefillMs }) : undefined
    this.running = { libp2p, refusals, guard, keeper, exchange, latency, trimmer, dialBack, memory, tableKeeper }
    trimmer?.start()
    tableKeeper?.start()
    await dialBack?.start()
    libp2p.addEventListener('peer:connect', this.onConnect)
    libp2p.addEventListener('peer:disconnect', this.onDisconnect)
    libp2p.addEventListener('peer:identify', this.onIdentify)
    libp2p.addEventListener('peer:discovery', this.onDiscovery)
    libp2p.addEventListener('self:peer:update', this.onSelfUpdate)
    libp2p.addEventListener('connection:open', this.onConnectionOpen)
    await exchange?.start()
    latency.start()
    keeper.start(this.bootstrapAddrs)
    // Besides the --peer addresses, the peers of the last run: dialled like peers heard of.
    for (const peer of await memory?.load(this.nodeId) ?? []) keeper.consider(peer.id, peer.addrs)
    this.log.info({ nodeId: this.nodeId, addresses: this.addresses() }, 'network started')
  }

  /** Closes every connection, listener and timer. Safe to call twice, or without start(). */
  async stop (): Promise<void> {
    await this.starting?.catch(() => {})
    const running = this.running
    if (running == null) return
    this.running = undefined
    this.starting = undefined
    running.refusals.stopping = true
    running.keeper.stop()
    await running.memory?.flush()
    running.exchange?.stop()
    running.latency.stop()
    running.trimmer?.stop()
    running.dialBack?.stop()
    running.tableKeeper?.stop()
    clearTimeout(running.reachabilityTimer)
    running.guard.stop()
    const { libp2p } = running
    libp2p.removeEventListener('peer:connect', this.onConnect)
    libp2p.removeEventListener('peer:identify', this.onIdentify)
    libp2p.removeEventListener('peer:discovery', this.onDiscovery)
    libp2p.removeEventListener('self:peer:update', this.onSelfUpdate)
    libp2p.removeEventListener('connection:open', this.onConnectionOpen)
    await libp2p.stop()
    libp2p.removeEventListener('peer:disconnect', this.onDisconnect)
    for (const nodeId of this.peerTable.ids()) this.peerTable.remove(nodeId)
    this.log.info({ nodeId: this.nodeId }, 'network stopped')
  }

  /** Our listen addresses, each ending in /p2p/<node id>. */
  addresses (): string[] {
    return this.running?.libp2p.getMultiaddrs().map(String) ?? []
  }

  peers (): PeerInfo[] {
    const libp2p = this.running?.libp2p
    if (libp2p == null) return this.peerTable.list()
    return this.peerTable.list().map(peer => ({ ...peer, path: connectionPath(libp2p, peer.nodeId) }))
  }

  /** How others reach this node: 'public' (a direct address: on the LAN mesh, or a peer dialled
   * us back), 'relayed' (behind NAT, through a relay reservation), 'unreachable' (behind NAT with
   * no relay yet), 'unknown' (with the DHT, until a peer has checked). */
  reachability (): Reachability {
    const running = this.running
    if (running == null) return 'unreachable'
    if (this.options.overlay == null) return 'public'
    if (this.natMode) return running.libp2p.getMultiaddrs().some(isCircuit) ? 'relayed' : 'unreachable'
    return this.judge.verdict === 'public' ? 'public' : 'unknown'
  }

  /** Asks peers to dial us back (dial-back.ts); found unreachable, the node goes behind-NAT: it
   * listens through a relay (the circuit transport reserves a slot on a connected relay) and is a
   * DHT client until that reservation gives it an address. */
  private scheduleReachabilityCheck (delayMs: number): void {
    const running = this.running
    // --nat is the user's word for it: only a node that judged itself unreachable checks again.
    if (running?.dialBack == null || this.options.overlay?.behindNat === true || this.checkingReachability) return
    // A new connection brings a check due later forward (a retry after nobody answered).
    if (running.reachabilityTimer != null) {
      if (this.reachabilityDueAt <= Date.now() + delayMs) return
      clearTimeout(running.reachabilityTimer)
    }
    this.reachabilityDueAt = Date.now() + delayMs
    running.reachabilityTimer = setTimeout(() => {
      this.checkingReachability = true
      void this.checkReachability(running).finally(() => {
        this.checkingReachability = false
        running.reachabilityTimer = undefined
        if (this.running === running) this.scheduleReachabilityCheck(this.nextCheckMs())
      })
    }, delayMs)
    running.reachabilityTimer.unref()
  }

  /** Proven reachable: rarely; failures pending: soon, to confirm or clear them; no answer: later;
   * judged unreachable: after 1 min, backing off to 30 min while it stays so. */
  private nextCheckMs (): number {
    if (this.judge.verdict === 'unreachable') {
      const delayMs = this.unreachableRecheck.nextDelayMs()
      this.unreachableRecheck.failed()
      return delayMs
    }
    if (this.judge.verdict === 'public' && this.judge.pendingFailures === 0) return this.timing.reachabilityRecheckMs
    return this.judge.pendingFailures > 0 ? this.timing.reachabilityConfirmMs : this.timing.reachabilityRetryMs
  }

  private async checkReachability (running: Running): Promise<void> {
    const { answers, peersAvailable } = await running.dialBack!.check(this.judge.failedPeers())
    if (this.running !== running) return
    const before = this.judge.verdict
    const verdict = this.judge.record(answers, peersAvailable)
    const evidence = { yes: answers.filter(a => a.reachable === true).length, no: answers.filter(a => a.reachable === false).length, none: answers.filter(a => a.reachable === undefined).length, pendingFailures: this.judge.pendingFailures }
    if (verdict === before) {
      if (evidence.no > 0) this.log.info({ reachability: verdict, ...evidence }, 'a peer could not dial this node back; checking again before concluding')
      return
    }
    this.log.info({ reachability: verdict, ...evidence }, verdict === 'public' ? 'peers can dial this node' : 'peers cannot dial this node (NAT?): listening through a relay')
    this.unreachableRecheck.succeeded()
    if (verdict === 'public' && before === 'unreachable') {
      await this.leaveNatMode(running)
      return
    }
    if (verdict !== 'unreachable') return
    if (this.options.overlay?.relay === true) this.log.warn('this node offers a relay but its peers cannot dial it: start it where it is reachable (port forwarding, a public address)')
    this.natMode = true
    const dht = running.libp2p.services.dht
    if (dht != null && dht.getMode() !== 'client') await dht.setMode('client').catch(() => {})
    await listenThroughRelay(running.libp2p).catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'could not listen through a relay'))
  }

  /** Judged unreachable before, dialled back now (a port forwarded, or a false verdict under
   * load): a DHT server again, without the relay it no longer needs. */
  private async leaveNatMode (running: Running): Promise<void> {
    this.natMode = false
    const dht = running.libp2p.services.dht
    if (dht != null && dht.getMode() !== 'server') await dht.setMode('server').catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'could not switch the DHT mode'))
    const relays = await stopListeningThroughRelays(running.libp2p).catch((err: unknown) => {
      this.log.warn({ err: (err as Error).message }, 'could not stop listening through a relay')
      return []
    })
    if (this.running !== running) return
    this.log.info({ relays: relays.map(String) }, 'peers can dial this node again: a DHT server, no longer listening through a relay')
    await this.lookUpSelf().catch(() => {})
  }

  /** Known peers that are not connected now (redialled with back-off). */
  awayPeers (): AwayPeer[] {
    return this.running?.keeper.away() ?? []
  }

  isConnected (nodeId: string): boolean {
    return this.peerTable.has(nodeId)
  }

  stats (): NetworkStats {
    const running = this.running
    return {
      connectedPeers: this.peerTable.size,
      refusedConnections: running?.refusals.refused ?? 0,
      deniedConnections: running?.refusals.denied ?? 0,
      guardRefusedConnections: running?.guard.refused ?? 0,
      failedHandshakes: running?.guard.failed ?? 0,
      dials: running?.keeper.dials ?? 0,
      dialFailures: running?.keeper.dialFailures ?? 0,
      peerExchanges: running?.exchange?.exchanges ?? 0,
      ...this.counters
    }
  }

  private readonly onConnect = (evt: CustomEvent<PeerId>): void => {
    const running = this.running
    if (running == null) return
    const nodeId = evt.detail.toString()
    this.peerTable.add(nodeId, running.libp2p.getConnections(evt.detail)[0]?.remoteAddr)
    running.keeper.connected(nodeId)
    void running.latency.probe(nodeId)
    this.counters.connects++
    this.log.info({ peer: nodeId }, 'peer connected')
    if (this.judge.verdict === 'unknown') this.scheduleReachabilityCheck(this.timing.reachabilityFirstCheckMs)
    this.emitSafely('peer:connect', nodeId)
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const nodeId = evt.detail.toString()
    if (!this.peerTable.has(nodeId)) return
    this.peerTable.remove(nodeId)
    this.running?.keeper.disconnected(nodeId)
    if (this.options.overlay != null && this.peerTable.size === 0) this.running?.keeper.isolated()
    this.counters.disconnects++
    this.log.info({ peer: nodeId }, 'peer disconnected')
    this.emitSafely('peer:disconnect', nodeId)
  }

  private readonly onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    const nodeId = evt.detail.peerId.toString()
    this.peerTable.setListenAddrs(nodeId, evt.detail.listenAddrs)
    this.running?.memory?.seen(nodeId, this.peerTable.listenAddrs(nodeId))
    if (evt.detail.protocols.includes(PEX_PROTOCOL)) this.running?.exchange?.peerIdentified(nodeId)
  }

  /** A direct connection to a peer we reach through a relay: hole punching worked (dcutr opens it
   * and then closes the relayed one), or the peer became directly dialable. */
  private readonly onConnectionOpen = (evt: CustomEvent<Connection>): void => {
    const connection = evt.detail
    const libp2p = this.running?.libp2p
    if (libp2p == null || isCircuit(connection.remoteAddr)) return
    const relayed = libp2p.getConnections(connection.remotePeer).some(c => c !== connection && c.status === 'open' && isCircuit(c.remoteAddr))
    if (relayed) {
      this.peerTable.markHolePunched(connection.remotePeer.toString())
      this.log.info({ peer: connection.remotePeer.toString() }, 'direct connection to a relayed peer (hole punched)')
    }
  }

  /** mDNS (and the peer store) report peers here; the keeper dials the ones not connected. */
  private readonly onDiscovery = (evt: CustomEvent<Libp2pPeerInfo>): void => {
    const nodeId = evt.detail.id.toString()
    if (nodeId === this.nodeId) return
    // With the DHT every member is "discovered" sooner or later: dialling them all is the mesh.
    if (this.options.overlay != null) return
    this.running?.keeper.consider(nodeId, evt.detail.multiaddrs.filter(isDialableTcp).map(ma => withPeerId(ma, nodeId)))
  }

  /** Behind NAT we start as a DHT client; once a relay gives us an address others can dial, we
   * answer DHT queries too (in a private network a relayed member is a reachable member), and
   * fall back to client when the reservation is gone. */
  private readonly onSelfUpdate = (): void => {
    const libp2p = this.running?.libp2p
    const dht = libp2p?.services.dht
    // Our own direct addresses changed (a new interface, a port mapping): a node judged
    // unreachable checks again soon instead of at its backed-off time.
    const direct = libp2p?.getMultiaddrs().filter(ma => !isCircuit(ma)).map(String).sort().join(' ') ?? ''
    if (direct !== this.directAddrs) {
      const changed = this.directAddrs !== ''
      this.directAddrs = direct
      if (changed && this.judge.verdict === 'unreachable') {
        this.unreachableRecheck.succeeded()
        this.scheduleReachabilityCheck(this.timing.reachabilityFirstCheckMs)
      }
    }
    if (!this.natMode || dht == null) return
    const mode = this.reachability() === 'relayed' ? 'server' : 'client'
    if (dht.getMode() !== mode) {
      this.log.info({ mode }, 'DHT mode follows reachability')
      void dht.setMode(mode)
        // A new server looks itself up at once: the answer fills its table and connects it to
        // its neighbours (relayed ones too) instead of waiting for the periodic self-query.
        .then(async () => { if (mode === 'server') await this.lookUpSelf() })
        .catch(err => this.log.warn({ err: (err as Error).message }, 'could not switch the DHT mode'))
      // Once more a few seconds later: the relay adds a member it was just told about (identify
      // push) only after pinging it, so a member that switched a moment before us may not be in
      // its answers yet; without this the two found each other at the next 30 s self-query.
      if (mode === 'server') setTimeout(() => { void this.lookUpSelf().catch(() => {}) }, this.timing.reachabilityFirstCheckMs * 3).unref()
    }
  }

  private async lookUpSelf (): Promise<void> {
    const libp2p = this.running?.libp2p
    const dht = libp2p?.services.dht
    if (libp2p == null || dht == null || dht.getMode() !== 'server') return
    for await (const _ of dht.getClosestPeers(libp2p.peerId.toMultihash().bytes)) ;
  }

  /** A listener that throws must not break libp2p's event dispatch. */
  private emitSafely<E extends keyof NetworkEvents> (event: E, ...args: NetworkEvents[E]): void {
    try {
      (this.emit as (event: string, ...args: unknown[]) => boolean)(event, ...args)
    } catch (err) {
      this.log.error({ event, err: (err as Error).message }, 'network event listener failed')
    }
  }
}

export type Reachability = 'public' | 'relayed' | 'unreachable' | 'unknown'

/** 'direct' when any open connection to the peer is a plain one (also after a hole punch), else
 * 'relayed' when we reach it only through a relay. */
function connectionPath (libp2p: NetworkLibp2p, nodeId: string): PeerPath {
  const open = libp2p.getConnections(peerIdFromString(nodeId)).filter(c => c.status === 'open')
  return open.length > 0 && open.every(c => isCircuit(c.remoteAddr)) ? 'relayed' : 'direct'
}

function parseListenAddr (listen: string): Multiaddr {
  const text = listen.trim().replace(/^localhost:/, '127.0.0.1:')
  const ma = toMultiaddr(text)
  const names = ma.getComponents().map(c => c.name)
  if (!['ip4', 'ip6'].includes(names[0]) || names[1] !== 'tcp' || names.length !== 2) {
    throw new VaultError('BAD_INPUT', `listen address must be an IP address and TCP port (host:port or /ip4/…/tcp/…), got ${listen}`)
  }
  return ma
}
