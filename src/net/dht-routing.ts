// Routing on the Kademlia DHT (issue 16): which peers should hold a key (the ones closest to it in
// XOR distance, as Kademlia itself ranks them), and which peers hold an owner's folder (provider
// records under a key derived from the owner's ID, announced by every holder and kept fresh).

import type { EventTypes, KadDHT, QueryEvent } from '@libp2p/kad-dht'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import type { Logger } from 'pino'
import { sha256 } from '../crypto/index.ts'
import { VaultError } from '../errors.ts'
import type { Routing } from './routing.ts'
import { DHT_PROTOCOL } from './overlay-options.ts'

/**
 * The values of kad-dht's `EventTypes` this module reads. Importing the enum itself would load
 * kad-dht into every node, DHT or not (overlay-options.ts says why that matters);
 * test/net/overlay-constants.test.ts pins each value to the enum.
 */
export const DHT_EVENT = {
  SEND_QUERY: 0 as EventTypes.SEND_QUERY,
  PEER_RESPONSE: 1 as EventTypes.PEER_RESPONSE,
  FINAL_PEER: 2 as EventTypes.FINAL_PEER,
  PROVIDER: 4 as EventTypes.PROVIDER
} as const

export interface DhtRoutingOptions {
  libp2p: Libp2p<{ dht?: KadDHT }>
  log: Logger
  /** Every owner we hold blobs of is provided again this often (provider records expire). */
  reprovideEveryMs?: number
  /** A provide that reached no DHT server (we had none yet) is retried after this. */
  retryProvideMs?: number
  /** Deadline of one lookup when the caller gives no signal. */
  queryTimeoutMs?: number
  /** Most holders returned by holdersOf (a peer-controlled list: bounded). */
  maxHolders?: number
}

/** What the last lookup cost: how many distinct peers we asked. */
export interface QueryCost { contacted: number, ms: number }

const HOLDERS_DOMAIN = 'distri-vault/holders/1\0'
const RAW_CODEC = 0x55
const SHA2_256 = 0x12

/** The DHT key under which every holder of `owner`'s folder announces itself: a CID, because
 * provider records are keyed by CIDs; hashed with a domain tag, so the key says nothing. */
export function holdersKey (owner: string): CID {
  return CID.createV1(RAW_CODEC, createDigest(SHA2_256, sha256(HOLDERS_DOMAIN + owner)))
}

/** Kademlia's position of a key or a peer: SHA-256 of its bytes (as kad-dht computes it). */
export function kadPosition (bytes: Uint8Array): Buffer {
  return sha256(bytes)
}

/** Orders peers by XOR distance between their Kademlia position and `target`'s, nearest first. */
export function sortByDistance (peers: PeerId[], target: Uint8Array): PeerId[] {
  const position = kadPosition(target)
  const keyed = peers.map(peer => ({ peer, distance: xor(kadPosition(peer.toMultihash().bytes), position) }))
  keyed.sort((a, b) => Buffer.compare(a.distance, b.distance))
  return keyed.map(k => k.peer)
}

export class DhtRouting implements Routing {
  private readonly options: Required<Omit<DhtRoutingOptions, 'libp2p' | 'log'>> & DhtRoutingOptions
  private readonly provided = new Map<string, { at: number, reached: number }>()
  private timer: NodeJS.Timeout | undefined
  /** Cost of the most recent closestPeers / holdersOf lookup. */
  lastQuery: QueryCost = { contacted: 0, ms: 0 }

  constructor (options: DhtRoutingOptions) {
    this.options = { reprovideEveryMs: 3_600_000, retryProvideMs: 10_000, queryTimeoutMs: 30_000, maxHolders: 256, ...options }
  }

  start (): void {
    if (this.timer != null) return
    const tickMs = Math.min(this.options.retryProvideMs, this.options.reprovideEveryMs)
    this.timer = setInterval(() => { void this.reprovideDue() }, tickMs)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  /** The peers this node can reach without a lookup: the connected ones and its routing table
   * (peers the DHT has seen answer; they are dialled on demand, connections stay bounded). */
  allPeers (): PeerId[] {
    const peers = new Map<string, PeerId>()
    for (const peer of this.options.libp2p.getPeers()) peers.set(peer.toString(), peer)
    for (const peer of routingTablePeers(this.options.libp2p.services.dht)) peers.set(peer.toString(), peer)
    peers.delete(this.options.libp2p.peerId.toString())
    return [...peers.values()]
  }

  /** The `n` peers nearest to `key` that the DHT finds (ourselves excluded). Peers that answered
   * the lookup and the closer peers they named count too: kad-dht names its final peers only at
   * the end, so a lookup cut short by its deadline (a starved CPU) used to leave only the routing
   * table and the connected peers, too few to place 3 copies past a slow or refusing node. When
   * the lookup fails, the members in the peer store (peers that spoke our DHT protocol) are
   * ranked as well; a candidate that is gone is passed over by the caller. */
  async closestPeers (key: Uint8Array, n: number, options: { signal?: AbortSignal } = {}): Promise<PeerId[]> {
    const found = new Map<string, PeerId>()
    const events = this.dht().getClosestPeers(key, { signal: this.signal(options.signal) })
    try {
      await this.consume(events, event => {
        if (event.type === DHT_EVENT.FINAL_PEER) found.set(event.peer.id.toString(), event.peer.id)
        if (event.type === DHT_EVENT.PEER_RESPONSE) {
          found.set(event.from.toString(), event.from)
          for (const closer of event.closer.slice(0, 64)) found.set(closer.id.toString(), closer.id)
        }
      })
    } catch (err) {
      options.signal?.throwIfAborted()
      this.options.log.debug({ err: (err as Error).message }, 'closest-peers lookup failed; ranking the peers known here')
      for (const peer of await this.knownMembers()) found.set(peer.toString(), peer)
    }
    // Known peers count too: in a small network the lookup may end before it asks them.
    for (const peer of this.allPeers()) found.set(peer.toString(), peer)
    found.delete(this.options.libp2p.peerId.toString())
    return sortByDistance([...found.values()], key).slice(0, n)
  }

  /** Peers of the peer store that speak our DHT protocol (members this node has met), bounded. */
  private async knownMembers (): Promise<PeerId[]> {
    const peers = await this.options.libp2p.peerStore.all({ filters: [peer => peer.protocols.includes(DHT_PROTOCOL)], limit: 1024 }).catch(() => [])
    return peers.map(peer => peer.id)
  }

  /** Every peer that announced it holds blobs of `owner` (as many as the DHT returns, bounded). */
  async holdersOf (owner: string, options: { signal?: AbortSignal } = {}): Promise<PeerId[]> {
    const self = this.options.libp2p.peerId.toString()
    const found = new Map<string, PeerId>()
    const events = this.dht().findProviders(holdersKey(owner), { signal: this.signal(options.signal) })
    await this.consume(events, event => {
      if (event.type !== DHT_EVENT.PROVIDER) return
      for (const provider of event.providers) {
        if (provider.id.toString() !== self && found.size < this.options.maxHolders) found.set(provider.id.toString(), provider.id)
      }
    })
    return [...found.values()]
  }

  /** Announces that we hold blobs of `owner`; call when the first blob of an owner is stored.
   * Cheap to call again: an owner already provided is only re-provided when due. */
  async provideOwner (owner: string, options: { signal?: AbortSignal } = {}): Promise<number> {
    const known = this.provided.get(owner)
    if (known != null && known.reached > 0 && Date.now() - known.at < this.options.reprovideEveryMs) return known.reached
    this.provided.set(owner, { at: Date.now(), reached: known?.reached ?? 0 })
    return await this.provideNow(owner, options.signal)
  }

  /** The owners this node announces it holds blobs of. */
  providing (): string[] {
    return [...this.provided.keys()]
  }

  /** Stops announcing `owner` (we no longer hold anything of it); records expire on their own. */
  async forgetOwner (owner: string): Promise<void> {
    this.provided.delete(owner)
    await this.dht().cancelReprovide(holdersKey(owner)).catch(() => {})
  }

  private async provideNow (owner: string, signal?: AbortSignal): Promise<number> {
    let reached = 0
    try {
      // provide() resolves even with no DHT peer (the record then lives only here): count the
      // servers that took it, and retry soon when none did.
      await this.consume(this.dht().provide(holdersKey(owner), { signal: this.signal(signal) }), event => {
        if (event.type === DHT_EVENT.PEER_RESPONSE && event.messageName === 'ADD_PROVIDER') reached++
      })
    } catch (err) {
      this.options.log.debug({ owner, err: (err as Error).message }, 'provide failed; retried later')
    }
    const entry = this.provided.get(owner)
    if (entry != null) this.provided.set(owner, { at: Date.now(), reached })
    return reached
  }

  private async reprovideDue (): Promise<void> {
    const now = Date.now()
    for (const [owner, entry] of this.provided) {
      const due = entry.reached === 0 ? this.options.retryProvideMs : this.options.reprovideEveryMs
      if (now - entry.at >= due) await this.provideNow(owner)
      if (this.timer == null) return
    }
  }

  /** Runs a query to its end, counting the distinct peers it asked. */
  private async consume (events: AsyncIterable<QueryEvent>, onEvent: (event: QueryEvent) => void): Promise<void> {
    const started = Date.now()
    const asked = new Set<string>()
    try {
      for await (const event of events) {
        if (event.type === DHT_EVENT.SEND_QUERY) asked.add(event.to.toString())
        onEvent(event)
      }
    } finally {
      this.lastQuery = { contacted: asked.size, ms: Date.now() - started }
    }
  }

  private signal (signal?: AbortSignal): AbortSignal {
    const timeout = AbortSignal.timeout(this.options.queryTimeoutMs)
    return signal == null ? timeout : AbortSignal.any([signal, timeout])
  }

  private dht (): KadDHT {
    const dht = this.options.libp2p.services.dht
    if (dht == null) throw new VaultError('NOT_RUNNING', 'the DHT is not enabled on this node (start with --dht)')
    return dht
  }
}

/**
 * Why `recover` found nobody to pull from. With the DHT and some peers connected, the lookup ran
 * and no holder answered: say so, with how many peers it asked (NOT_FOUND: nothing of this folder
 * is on the network, or its holders are offline). Without any peer it is a connection problem.
 */
export function noHoldersError (routing: Routing, connectedPeers: number): VaultError {
  if (routing instanceof DhtRouting && connectedPeers > 0) {
    const asked = routing.lastQuery.contacted
    return new VaultError('NOT_FOUND', `no holder of this node's folder was found through the DHT (asked ${asked} peer${asked === 1 ? '' : 's'}, ${connectedPeers} connected): its holders may be offline, or nothing of it was stored on the network; run recover again later`)
  }
  return new VaultError('UNREACHABLE', 'no peer is connected: start the node with --peer HOST:PORT of a node of your network, then run recover again')
}

/** The peers in kad-dht's routing table (not part of its typed interface: read defensively). */
function routingTablePeers (dht: KadDHT | undefined): PeerId[] {
  const table = (dht as unknown as { routingTable?: { kb?: { toIterable?: () => Iterable<{ peerId: PeerId }> } } } | undefined)?.routingTable
  const iterable = table?.kb?.toIterable?.()
  return iterable == null ? [] : [...iterable].map(contact => contact.peerId)
}

function xor (a: Uint8Array, b: Uint8Array): Buffer {
  const out = Buffer.alloc(a.length)
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i]
  return out
}
