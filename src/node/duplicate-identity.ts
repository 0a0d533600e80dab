// Detects a second node running with this node's identity (the same recovery phrase on another
// data dir or machine). libp2p cannot: both authenticate as the same peer ID. So every run picks
// a random instance ID and tells it on each connection (/distri-vault/instance/1); a node that
// sees two instances behind one peer ID on its open connections tells both, and each of them
// logs a warning and shows it in `status.duplicateIdentity`. Peers learn nothing new: the
// instance ID is random per run.
import { randomBytes } from 'node:crypto'
import type { Connection } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { NetworkLibp2p } from '../net/index.ts'
import type { DuplicateIdentity } from '../api/index.ts'
import { FrameStream, handleProtocol, requestJson, InstanceFrame, INSTANCE_MAX_ADDRS, INSTANCE_MAX_FRAME_BYTES, INSTANCE_PROTOCOL } from '../protocols/index.ts'

export type { DuplicateIdentity } from '../api/index.ts'

const TIMEOUT_MS = 10_000
/** Peers whose instances we track, at most (each with its open connections only). */
const MAX_TRACKED_PEERS = 4096

export class DuplicateIdentityCheck {
  readonly instance = randomBytes(16).toString('hex')
  private readonly libp2p: NetworkLibp2p
  private readonly log: Logger
  /** peer ID → connection ID → that connection's instance and remote address. */
  private readonly seen = new Map<string, Map<string, { instance: string, remoteAddr: string }>>()
  private readonly warned = new Set<string>()
  private report: DuplicateIdentity | undefined
  private readonly onOpen = (evt: CustomEvent<Connection>): void => { void this.exchange(evt.detail) }
  private readonly onClose = (evt: CustomEvent<Connection>): void => {
    const peer = evt.detail.remotePeer.toString()
    this.seen.get(peer)?.delete(evt.detail.id)
    if (this.seen.get(peer)?.size === 0) this.seen.delete(peer)
  }

  constructor (options: { libp2p: NetworkLibp2p, log: Logger }) {
    this.libp2p = options.libp2p
    this.log = options.log
  }

  async start (): Promise<void> {
    await handleProtocol(this.libp2p, INSTANCE_PROTOCOL, async (stream, connection) => {
      const frames = new FrameStream(stream, { maxFrameBytes: INSTANCE_MAX_FRAME_BYTES })
      const signal = AbortSignal.timeout(TIMEOUT_MS)
      const theirs = await frames.readJson(InstanceFrame, { signal })
      if (theirs == null) return
      await frames.writeJson({ instance: this.instance } satisfies InstanceFrame, { signal })
      await frames.close({ signal })
      this.received(theirs, connection)
    }, { log: this.log, maxInboundStreams: 4, maxOutboundStreams: 4, inactivityTimeoutMs: TIMEOUT_MS })
    this.libp2p.addEventListener('connection:open', this.onOpen)
    this.libp2p.addEventListener('connection:close', this.onClose)
    for (const connection of this.libp2p.getConnections()) void this.exchange(connection)
  }

  async stop (): Promise<void> {
    this.libp2p.removeEventListener('connection:open', this.onOpen)
    this.libp2p.removeEventListener('connection:close', this.onClose)
    await this.libp2p.unhandle(INSTANCE_PROTOCOL).catch(() => {})
  }

  /** Another instance of this node, as a peer reported it; undefined while none is known. */
  duplicate (): DuplicateIdentity | undefined { return this.report }

  private async exchange (connection: Connection, conflict?: InstanceFrame['conflict']): Promise<void> {
    try {
      const reply = await requestJson(connection, INSTANCE_PROTOCOL, { instance: this.instance, ...(conflict === undefined ? {} : { conflict }) } satisfies InstanceFrame, InstanceFrame, { maxFrameBytes: INSTANCE_MAX_FRAME_BYTES, timeoutMs: TIMEOUT_MS })
      if (conflict === undefined) this.received(reply, connection)
    } catch (err) {
      this.log.debug({ peer: connection.remotePeer.toString(), err: (err as Error).message }, 'instance exchange failed')
    }
  }

  private received (frame: InstanceFrame, connection: Connection): void {
    const peer = connection.remotePeer.toString()
    if (frame.conflict !== undefined) { this.reported(peer, frame.conflict.addresses); return }
    if (connection.status !== 'open') return
    if (!this.seen.has(peer) && this.seen.size >= MAX_TRACKED_PEERS) return
    const byConnection = this.seen.get(peer) ?? new Map()
    this.seen.set(peer, byConnection)
    byConnection.set(connection.id, { instance: frame.instance, remoteAddr: connection.remoteAddr.toString() })
    const open = new Set(this.libp2p.getConnections(connection.remotePeer).filter(c => c.status === 'open').map(c => c.id))
    for (const id of byConnection.keys()) if (!open.has(id)) byConnection.delete(id)
    const instances = new Set([...byConnection.values()].map(v => v.instance))
    if (instances.size < 2) return
    if (!this.warned.has(peer)) {
      this.warned.add(peer)
      this.log.warn({ peer, instances: instances.size, from: [...byConnection.values()].map(v => v.remoteAddr) }, 'two nodes run with the same identity (the same recovery phrase started twice); telling both')
    }
    // Tell each instance where the others connect from.
    for (const c of this.libp2p.getConnections(connection.remotePeer).filter(c => byConnection.has(c.id))) {
      const mine = byConnection.get(c.id)!.instance
      const addresses = [...byConnection.values()].filter(v => v.instance !== mine).map(v => v.remoteAddr).slice(0, INSTANCE_MAX_ADDRS)
      void this.exchange(c, { addresses })
    }
  }

  private reported (by: string, addresses: string[]): void {
    if (this.report === undefined) {
      this.log.warn({ reportedBy: by, otherInstanceAt: addresses }, 'another node runs with this node\'s identity (the same recovery phrase): peers cannot tell us apart, so messages and copies may reach either; stop one of them')
    }
    this.report = { detectedAt: this.report?.detectedAt ?? new Date().toISOString(), reportedBy: by, addresses }
  }
}
