// Bytes this node sent to and received from its peers, per hour over the last day and per peer:
// read from the TCP sockets under libp2p's connections (bytesWritten/bytesRead, so Noise and Yamux
// overhead included: what the wire carried). Sockets are found through Node's `net` diagnostics
// channels, so neither libp2p nor the transport needs a hook; a socket counts once it can be matched
// to one of this node's connections by its remote address (the API's sockets never match).
import { subscribe } from 'node:diagnostics_channel'
import type { Socket } from 'node:net'

/** Every TCP socket of this process while it is open. Process-wide by nature (the channels are). */
const openSockets = new Set<Socket>()
const closeListeners = new Set<(socket: Socket) => void>()
/** Each socket's remote and local ports, noted while connected (a closed socket no longer says). */
const endpoints = new WeakMap<Socket, { remote: string, localPort: number }>()

function noteEndpoints (socket: Socket): void {
  if (socket.remoteAddress !== undefined) endpoints.set(socket, { remote: `${normalHost(socket.remoteAddress)}:${socket.remotePort ?? ''}`, localPort: socket.localPort ?? -1 })
}

function track (message: unknown): void {
  const socket = (message as { socket?: Socket }).socket
  if (socket === undefined) return
  openSockets.add(socket)
  noteEndpoints(socket)
  socket.once('connect', () => noteEndpoints(socket))
  // This listener is the socket's first: if it threw, the socket's own close handling (an HTTP
  // response's 'aborted', say) would never run. Counting is never worth that.
  socket.once('close', () => {
    openSockets.delete(socket)
    for (const listener of closeListeners) {
      try { listener(socket) } catch {}
    }
  })
}
subscribe('net.client.socket', track)
subscribe('net.server.socket', track)

export interface TrafficConnection { peer: string, remoteAddr: string, direction: 'inbound' | 'outbound' }

export interface TrafficMeterOptions {
  /** This node's libp2p connections now. */
  connections: () => TrafficConnection[]
  /** This node's own TCP listen ports (an inbound socket of this node was accepted on one). */
  listenPorts: () => number[]
  sampleEveryMs?: number
  now?: () => number
}

export interface ByteCounts { sent: number, received: number }
export interface HourTraffic extends ByteCounts { hour: string }

const HOUR_MS = 3600_000
const HOURS_KEPT = 24

function hostPortOf (multiaddr: string): string | undefined {
  const m = /^\/ip[46]\/([^/]+)\/tcp\/(\d+)/.exec(multiaddr)
  return m === null ? undefined : `${m[1]}:${m[2]}`
}

function normalHost (address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:/, '')
}

export class TrafficMeter {
  private readonly o: TrafficMeterOptions
  private readonly now: () => number
  /** Which peer each socket belongs to, once matched to one of this node's connections. */
  private readonly peerOf = new WeakMap<Socket, string>()
  private readonly seen = new WeakMap<Socket, ByteCounts>()
  private readonly hours = new Map<number, ByteCounts>()
  private readonly perPeer = new Map<string, ByteCounts>()
  private timer: NodeJS.Timeout | undefined
  private readonly onClose = (socket: Socket): void => { this.sampleSocket(socket, undefined) }

  constructor (options: TrafficMeterOptions) {
    this.o = options
    this.now = options.now ?? Date.now
  }

  start (): void {
    closeListeners.add(this.onClose)
    this.timer = setInterval(() => this.sample(), this.o.sampleEveryMs ?? 10_000)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
    closeListeners.delete(this.onClose)
  }

  /** Bytes per hour, the oldest first, for the last 24 hours (hours without traffic are zeros). */
  hourly (): HourTraffic[] {
    this.sample()
    const thisHour = Math.floor(this.now() / HOUR_MS) * HOUR_MS
    const out: HourTraffic[] = []
    for (let h = thisHour - (HOURS_KEPT - 1) * HOUR_MS; h <= thisHour; h += HOUR_MS) {
      const counts = this.hours.get(h) ?? { sent: 0, received: 0 }
      out.push({ hour: new Date(h).toISOString(), sent: counts.sent, received: counts.received })
    }
    return out
  }

  /** Bytes exchanged with each peer since the node started. */
  peers (): Map<string, ByteCounts> {
    this.sample()
    return new Map([...this.perPeer].map(([peer, c]) => [peer, { ...c }]))
  }

  private sample (): void {
    const byRemote = this.connectionsByRemote()
    for (const socket of openSockets) this.sampleSocket(socket, byRemote)
  }

  /** This node's connections by remote host:port (none while its network is not running). */
  private connectionsByRemote (): Map<string, TrafficConnection> {
    const map = new Map<string, TrafficConnection>()
    let connections: TrafficConnection[]
    try {
      connections = this.o.connections()
    } catch {
      return map
    }
    for (const c of connections) {
      const hp = hostPortOf(c.remoteAddr)
      if (hp !== undefined) map.set(hp, c)
    }
    return map
  }

  private attribute (socket: Socket, byRemote: Map<string, TrafficConnection>): string | undefined {
    const known = this.peerOf.get(socket)
    if (known !== undefined) return known
    const ends = endpoints.get(socket)
    const c = ends === undefined ? undefined : byRemote.get(ends.remote)
    if (ends === undefined || c === undefined) return undefined
    if (c.direction === 'inbound' && !this.o.listenPorts().includes(ends.localPort)) return undefined
    this.peerOf.set(socket, c.peer)
    return c.peer
  }

  private sampleSocket (socket: Socket, byRemote: Map<string, TrafficConnection> | undefined): void {
    const peer = this.attribute(socket, byRemote ?? this.connectionsByRemote())
    if (peer === undefined) return
    const last = this.seen.get(socket) ?? { sent: 0, received: 0 }
    const now = { sent: socket.bytesWritten, received: socket.bytesRead }
    const delta = { sent: now.sent - last.sent, received: now.received - last.received }
    if (delta.sent === 0 && delta.received === 0) return
    this.seen.set(socket, now)
    this.add(this.hourBucket(), delta)
    this.add(this.perPeer.get(peer) ?? this.perPeer.set(peer, { sent: 0, received: 0 }).get(peer)!, delta)
  }

  private hourBucket (): ByteCounts {
    const hour = Math.floor(this.now() / HOUR_MS) * HOUR_MS
    let bucket = this.hours.get(hour)
    if (bucket === undefined) {
      bucket = { sent: 0, received: 0 }
      this.hours.set(hour, bucket)
      for (const h of this.hours.keys()) if (h <= hour - HOURS_KEPT * HOUR_MS) this.hours.delete(h)
    }
    return bucket
  }

  private add (into: ByteCounts, delta: ByteCounts): void {
    into.sent += delta.sent
    into.received += delta.received
  }
}
