// Keeps a node with the DHT at its connection bound. libp2p's own pruner never closes a connection
// that carries a stream other than identify/autonat/dcutr, and gossipsub keeps a long-lived stream
// on every connection: with gossipsub on, nothing would ever be pruned and a node would end up
// connected to everyone who ever dialled it. This trims the excess, least valuable first, and
// leaves alone connections doing real work (a block transfer, a message) and kept-alive ones (the
// relay we hold a reservation on).

import type { Connection } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { NetworkLibp2p } from './libp2p-node.ts'

/** Streams that are background chatter: a connection with only these may be closed. */
const IDLE_PROTOCOLS = [/^\/meshsub\//, /^\/floodsub\//, /\/kad\//, /^\/ipfs\/id\//, /^\/ipfs\/ping\//, /^\/libp2p\/autonat\//, /^\/libp2p\/dcutr/]

export interface ConnectionTrimmerOptions {
  libp2p: NetworkLibp2p
  log: Logger
  maxConnections: number
  /** How often the bound is checked besides on each new connection. */
  intervalMs?: number
  /** A connection this young is left alone: it was just opened for a reason (a fetch, a lookup). */
  graceMs?: number
}

export class ConnectionTrimmer {
  private readonly options: ConnectionTrimmerOptions
  private timer: NodeJS.Timeout | undefined
  private trimming = false
  private pending = false
  closed = 0

  constructor (options: ConnectionTrimmerOptions) {
    this.options = options
  }

  start (): void {
    this.options.libp2p.addEventListener('connection:open', this.onOpen)
    this.timer = setInterval(() => { void this.trim() }, this.options.intervalMs ?? 5_000)
    this.timer.unref()
  }

  stop (): void {
    this.options.libp2p.removeEventListener('connection:open', this.onOpen)
    clearInterval(this.timer)
    this.timer = undefined
  }

  private readonly onOpen = (): void => {
    // After the burst of a join: let identify and the DHT use the new connection first.
    if (this.pending) return
    this.pending = true
    setTimeout(() => { this.pending = false; void this.trim() }, 2_000).unref()
  }

  async trim (): Promise<void> {
    if (this.trimming || this.timer == null) return
    this.trimming = true
    try {
      const { libp2p, maxConnections } = this.options
      const connections = libp2p.getConnections()
      const excess = connections.length - maxConnections
      if (excess <= 0) return
      const settled = Date.now() - (this.options.graceMs ?? 30_000)
      const candidates = await this.rank(connections.filter(c => idle(c, settled) && c.timeline.open < settled))
      const victims = candidates.slice(0, excess)
      // A graceful close waits for the other side to end each stream; a stream it never answers would
      // hold the close, and with it every later trim, for ever: after 2 s the connection is aborted.
      await Promise.all(victims.map(async c => await c.close({ signal: AbortSignal.timeout(2_000) }).catch(() => { c.abort(new Error('trimmed')) })))
      this.closed += victims.length
      this.options.log.debug({ connections: connections.length, maxConnections, closed: victims.length }, 'trimmed connections to the bound')
    } finally {
      this.trimming = false
    }
  }

  /** Least valuable first: no keep-alive tag, lowest tag value, then the newest. */
  private async rank (connections: Connection[]): Promise<Connection[]> {
    const valued = await Promise.all(connections.map(async connection => {
      const tags = await this.options.libp2p.peerStore.get(connection.remotePeer).then(p => p.tags, () => new Map<string, { value: number }>())
      // kad-dht marks its k closest peers keep-alive too (20 of them, above a small bound): those
      // are only ranked last, by their tag value; other keep-alives (our relay) are never closed.
      const keepAlive = [...tags.keys()].some(name => name.startsWith('keep-alive') && name !== 'keep-alive-kad-dht')
      const value = [...tags.values()].reduce((sum, tag) => sum + tag.value, 0)
      return { connection, keepAlive, value }
    }))
    return valued
      .filter(v => !v.keepAlive)
      .sort((a, b) => a.value - b.value || b.connection.timeline.open - a.connection.timeline.open)
      .map(v => v.connection)
  }
}

function idle (connection: Connection, settled: number): boolean {
  // A stream still negotiating (no protocol yet) is work about to start, unless it has been
  // negotiating for longer than the grace period: then it is stuck (an identify push or probe the
  // other side never answered) and would otherwise keep the connection forever.
  return connection.status === 'open' && connection.streams.every(s => s.protocol == null ? s.timeline.open < settled : IDLE_PROTOCOLS.some(p => p.test(s.protocol!)))
}
