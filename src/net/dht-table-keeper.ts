// Connected DHT servers that are missing from our routing table are offered to it again (issue 16,
// scale). kad-dht adds a peer when it connects (after a ping that must answer within the
// connect's 10 s), or when it answers one of our queries. On a starved machine those pings time
// out: the peer stays connected but out of the table, and nothing offers it again until a new
// connection — a node whose pings all failed at join kept an EMPTY table (so its self-query had
// nobody to ask), and nodes that were in nobody's table could not be found by any lookup (seen at
// 100 nodes: 10–12 of each round's failed lookups had a target in no table at all).
// Every interval, a few such peers are offered again (kad-dht pings them before adding them).

import type { PeerId } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { NetworkLibp2p } from './libp2p-node.ts'
import { DHT_PROTOCOL } from './overlay-options.ts'

export interface DhtTableKeeperOptions {
  libp2p: NetworkLibp2p
  log: Logger
  /** How often connected peers are weighed against the table. */
  intervalMs: number
  /** Peers offered per pass (each costs a ping). */
  perPass?: number
}

interface RoutingTableInternals {
  find: (peer: PeerId) => Promise<PeerId | undefined>
  add: (peer: PeerId) => Promise<void>
}

export class DhtTableKeeper {
  private readonly options: DhtTableKeeperOptions
  private timer: NodeJS.Timeout | undefined
  private running = false
  /** Peers offered again so far (for stats and tests). */
  offered = 0

  constructor (options: DhtTableKeeperOptions) {
    this.options = options
  }

  start (): void {
    this.timer = setInterval(() => { void this.pass().catch(err => this.options.log.debug({ err: (err as Error).message }, 'DHT table refill failed')) }, this.options.intervalMs)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  /** Offers up to `perPass` connected DHT servers that the routing table lacks; returns how many. */
  async pass (): Promise<number> {
    if (this.running) return 0
    const { libp2p } = this.options
    const dht = libp2p.services.dht as unknown as { routingTable?: RoutingTableInternals, getMode: () => string } | undefined
    const table = dht?.routingTable
    if (table == null) return 0
    this.running = true
    try {
      const seen = new Set<string>()
      const missing: PeerId[] = []
      for (const connection of libp2p.getConnections()) {
        const key = connection.remotePeer.toString()
        if (connection.status !== 'open' || seen.has(key)) continue
        seen.add(key)
        const peer = await libp2p.peerStore.get(connection.remotePeer).catch(() => undefined)
        // Only servers: a client does not list the DHT protocol (identify tells us when it turns server).
        if (peer?.protocols.includes(DHT_PROTOCOL) !== true) continue
        if (await table.find(connection.remotePeer) != null) continue
        missing.push(connection.remotePeer)
        if (missing.length >= (this.options.perPass ?? 8)) break
      }
      if (missing.length === 0) return 0
      this.offered += missing.length
      this.options.log.debug({ peers: missing.length }, 'offering connected DHT servers missing from the routing table again')
      await Promise.allSettled(missing.map(async peer => { await table.add(peer) }))
      return missing.length
    } finally {
      this.running = false
    }
  }
}
