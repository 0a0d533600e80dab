// The node's messenger: direct messages with an outbox for offline peers, messages to all and
// announcements flooded to every node, history in catalog.db, and live subscribers. Every
// envelope is signed by the sender's node key and verified on receipt.

import { randomBytes } from 'node:crypto'
import type { DatabaseSync } from 'node:sqlite'
import { peerIdFromString } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import type { Logger } from 'pino'
import { VaultError } from '../errors.ts'
import type { Network } from '../net/index.ts'
import { EventBus } from '../events/index.ts'
import {
  ANNOUNCE_MAX_FRAME_BYTES, MAX_TEXT_BYTES, MSG_MAX_FRAME_BYTES,
  type AnnouncementEnvelope, type FloodFrame, type MessageEnvelope
} from '../protocols/index.ts'
import { DeliveryQueues } from './delivery-queues.ts'
import { DirectMessages } from './direct-messages.ts'
import { Flood } from './flood.ts'
import { GossipBroadcast } from './gossip.ts'
import { MessageStore, type Message } from './message-store.ts'
import { Outbox } from './outbox.ts'
import { SeenSet } from './seen-set.ts'
import { announcementSigningBytes, messageSigningBytes, signBytes } from './signing.ts'
import { emptyStats, type MessengerStats } from './stats.ts'
import { DEFAULT_SENDER_RATE, SenderRateLimiter, type SenderRateOptions } from './sender-limits.ts'

export interface Announcement {
  id: string
  from: string
  kind: string
  data: Record<string, unknown>
  at: string
}

/** Announcement kinds of distri-vault itself; the messenger sends the first two on its own. */
export const ANNOUNCEMENT_KINDS = {
  nodeJoined: 'node-joined',
  nodeLeft: 'node-left',
  fileStored: 'file-stored',
  fileRemoved: 'file-removed'
} as const

export interface MessengerTiming {
  /** Deadline of one delivery to one peer (open stream, send, ack). */
  deliveryTimeoutMs: number
  /** Longest wait between two attempts to empty the outbox of a connected peer. */
  outboxRetryMaxMs: number
  /** Flooded envelopes older than this are refused as stale. */
  floodMaxAgeMs: number
}

export const DEFAULT_MESSENGER_TIMING: MessengerTiming = {
  deliveryTimeoutMs: 5_000,
  outboxRetryMaxMs: 30_000,
  floodMaxAgeMs: 15 * 60_000
}

export interface MessengerOptions {
  network: Network
  /** The node's catalog.db; the messenger keeps its own tables in it. */
  db: DatabaseSync
  /** Seals message texts at rest in `db` (see message-store.ts). */
  textKey?: Uint8Array
  privateKey: PrivateKey
  log: Logger
  timing?: Partial<MessengerTiming>
  /** Messages (direct and to all) and, apart, announcements accepted per sender (DEFAULT_SENDER_RATE). */
  senderRate?: SenderRateOptions
  /** Where received messages and announcements are published (the node's bus; default: one of its own). */
  events?: EventBus
  /** How messages to all and announcements travel: flooded over every connection (the LAN mesh,
   * default) or over gossipsub (needs the network's overlay: --dht). */
  broadcast?: 'flood' | 'gossip'
}

/** Flood and gossip both do this. */
interface Broadcaster {
  start: () => Promise<void>
  stop: () => Promise<void>
  publish: (frame: FloodFrame) => Promise<number>
}

export interface SendResult { id: string, to: string, at: string, delivered: boolean }
export interface BroadcastResult { id: string, to: '*', at: string, deliveredTo: number }
export interface AnnounceResult { id: string, at: string, deliveredTo: number }

const DEFAULT_HISTORY = 100
const MAX_HISTORY_PAGE = 10_000
const KIND = /^[a-z0-9][a-z0-9._:-]{0,63}$/

/** The message log's byte budget (texts as stored): 64 MiB, ~1,000 texts of the 64 KiB maximum. */
export const MAX_LOG_TEXT_BYTES = 64 * 1024 * 1024

export class Messenger {
  private readonly options: MessengerOptions
  private readonly log: Logger
  private readonly timing: MessengerTiming
  private readonly store: MessageStore
  private readonly counters: MessengerStats = emptyStats()
  private readonly events: EventBus
  private running: { direct: DirectMessages, flood: Broadcaster, outbox: Outbox, queues: DeliveryQueues[] } | undefined

  constructor (options: MessengerOptions) {
    this.options = options
    this.log = options.log.child({ sub: 'messaging' })
    this.timing = { ...DEFAULT_MESSENGER_TIMING, ...options.timing }
    this.store = new MessageStore(options.db, { maxHistory: 100_000, maxTextBytes: MAX_LOG_TEXT_BYTES, maxOutbox: 10_000, textKey: options.textKey })
    this.events = options.events ?? new EventBus(this.log)
  }

  /** Registers the protocols; the network must be started. */
  async start (): Promise<void> {
    if (this.running != null) return
    const { network } = this.options
    const queueOptions = { concurrencyPerPeer: 4, maxWaitingPerPeer: 256, timeoutMs: this.timing.deliveryTimeoutMs }
    const directQueues = new DeliveryQueues(queueOptions)
    const floodQueues = new DeliveryQueues(queueOptions)
    const senderRate = this.options.senderRate ?? DEFAULT_SENDER_RATE
    // Direct messages and messages to all share one bucket per sender: both reach subscribers.
    const messageRate = new SenderRateLimiter(senderRate)
    const direct = new DirectMessages({
      network, log: this.log, queues: directQueues, stats: this.counters, timeoutMs: this.timing.deliveryTimeoutMs, rate: messageRate,
      onMessage: envelope => this.accept(envelope)
    })
    const broadcastOptions = {
      network, log: this.log, stats: this.counters,
      seen: new SeenSet(10_000, 2 * this.timing.floodMaxAgeMs),
      maxAgeMs: this.timing.floodMaxAgeMs,
      messageRate,
      announcementRate: new SenderRateLimiter(senderRate),
      onMessage: (envelope: MessageEnvelope) => this.accept(envelope),
      onAnnouncement: (envelope: AnnouncementEnvelope) => this.events.emit('announcement:received', toAnnouncement(envelope))
    }
    const flood: Broadcaster = this.options.broadcast === 'gossip'
      ? new GossipBroadcast(broadcastOptions)
      : new Flood({ ...broadcastOptions, queues: floodQueues, timeoutMs: this.timing.deliveryTimeoutMs })
    const outbox = new Outbox({ network, log: this.log, store: this.store, direct, retryMaxMs: this.timing.outboxRetryMaxMs })
    await direct.start()
    await flood.start()
    this.running = { direct, flood, outbox, queues: [directQueues, floodQueues] }
    outbox.start()
    network.on('peer:connect', this.onPeerConnect)
    if (network.peers().length > 0) this.announceJoined()
  }

  /** Says goodbye to the network (briefly), then unregisters. Idempotent. */
  async stop (): Promise<void> {
    const running = this.running
    if (running == null) return
    const { network } = this.options
    network.off('peer:connect', this.onPeerConnect)
    if (network.peers().length > 0) {
      await Promise.race([
        this.announce(ANNOUNCEMENT_KINDS.nodeLeft, {}).catch(() => {}),
        new Promise(resolve => setTimeout(resolve, 1_000).unref())
      ])
    }
    this.running = undefined
    running.outbox.stop()
    for (const queues of running.queues) queues.stop()
    await running.direct.stop().catch(() => {})
    await running.flood.stop().catch(() => {})
  }

  /** Sends to one node. Not delivered now (offline, or not answering) means kept in the outbox and
   * delivered when it connects again. */
  async send (to: string, text: string): Promise<SendResult> {
    const running = this.requireRunning()
    checkNodeId(to)
    if (to === this.options.network.nodeId) throw new VaultError('BAD_INPUT', 'cannot send a message to this node itself')
    const envelope = await this.seal(to, text, MSG_MAX_FRAME_BYTES)
    this.store.record(envelope, 'sent')
    // Into the outbox only when the first attempt fails: one disk sync per message on the common
    // path, not three. (A crash mid-send loses nothing the caller was told was kept.)
    const result = this.options.network.isConnected(to) ? await running.outbox.tryOnce(envelope) : 'failed'
    if (result === 'failed') running.outbox.keep(envelope)
    const delivered = result === 'delivered'
    this.log.debug({ id: envelope.id, to, delivered }, 'message sent')
    return { id: envelope.id, to, at: envelope.at, delivered }
  }

  /** Sends to every node of the network (those online now), through every connected peer. */
  async broadcast (text: string): Promise<BroadcastResult> {
    const running = this.requireRunning()
    const envelope = await this.seal('*', text, ANNOUNCE_MAX_FRAME_BYTES)
    this.store.record(envelope, 'sent')
    const deliveredTo = await running.flood.publish(checkFrameSize({ type: 'msg', hops: 0, message: envelope }))
    return { id: envelope.id, to: '*', at: envelope.at, deliveredTo }
  }

  /** Floods an announcement to every node; this node's own listeners do not get it. */
  async announce (kind: string, data: Record<string, unknown>): Promise<AnnounceResult> {
    const running = this.requireRunning()
    if (!KIND.test(kind)) throw new VaultError('BAD_INPUT', `announcement kind must match ${KIND.source}, got ${JSON.stringify(kind)}`)
    if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new VaultError('BAD_INPUT', 'announcement data must be a JSON object')
    const unsigned = { id: newId(), from: this.options.network.nodeId, kind, data: JSON.parse(JSON.stringify(data)) as Record<string, unknown>, at: new Date().toISOString() }
    const announcement: AnnouncementEnvelope = { ...unsigned, sig: await signBytes(this.options.privateKey, announcementSigningBytes(unsigned)) }
    const deliveredTo = await running.flood.publish(checkFrameSize({ type: 'announce', hops: 0, announcement }))
    return { id: announcement.id, at: announcement.at, deliveredTo }
  }

  /** Kept messages, sent and received, oldest first (the last `limit`, default 100). */
  history (options: { limit?: number } = {}): Message[] {
    const limit = options.limit ?? DEFAULT_HISTORY
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_HISTORY_PAGE) throw new VaultError('BAD_INPUT', `limit must be an integer in 1..${MAX_HISTORY_PAGE}`)
    return this.store.history(limit)
  }

  /** Live received messages (direct and to all), each once, verified: the bus's 'message:received'. */
  subscribe (listener: (message: Message) => void): () => void {
    return this.events.on('message:received', listener)
  }

  /** The bus's 'announcement:received'. */
  onAnnouncement (listener: (announcement: Announcement) => void): () => void {
    return this.events.on('announcement:received', listener)
  }

  stats (): MessengerStats {
    return { ...this.counters, dropped: { ...this.counters.dropped } }
  }

  private readonly onPeerConnect = (nodeId: string): void => {
    this.running?.outbox.peerConnected(nodeId)
    if (this.options.network.peers().length === 1) this.announceJoined()
  }

  /** "node-joined" each time this node goes from no peer to one. */
  private announceJoined (): void {
    this.announce(ANNOUNCEMENT_KINDS.nodeJoined, { addresses: this.options.network.addresses().slice(0, 8) })
      .catch((err: unknown) => this.log.debug({ err: (err as Error).message }, 'could not announce joining'))
  }

  /** Keeps a verified incoming message and tells subscribers, unless it is a redelivery. */
  private accept (envelope: MessageEnvelope): boolean {
    if (!this.store.record(envelope, 'received')) return false
    this.events.emit('message:received', { id: envelope.id, from: envelope.from, to: envelope.to, text: envelope.text, at: envelope.at })
    return true
  }

  private async seal (to: string, text: string, maxFrameBytes: number): Promise<MessageEnvelope> {
    if (typeof text !== 'string' || text.length === 0) throw new VaultError('BAD_INPUT', 'message text must not be empty')
    const bytes = Buffer.byteLength(text, 'utf8')
    if (bytes > MAX_TEXT_BYTES) throw new VaultError('TOO_LARGE', `message text is ${bytes} bytes; the limit is ${MAX_TEXT_BYTES}`)
    const unsigned = { id: newId(), from: this.options.network.nodeId, to, text, at: new Date().toISOString() }
    const envelope = { ...unsigned, sig: await signBytes(this.options.privateKey, messageSigningBytes(unsigned)) }
    if (Buffer.byteLength(JSON.stringify(envelope)) > maxFrameBytes) {
      throw new VaultError('TOO_LARGE', 'message too large once encoded (many characters that JSON escapes)')
    }
    return envelope
  }

  private requireRunning (): NonNullable<Messenger['running']> {
    if (this.running == null) throw new VaultError('NOT_RUNNING', 'the messenger is not started')
    return this.running
  }
}

function newId (): string {
  return randomBytes(16).toString('base64url')
}

function checkNodeId (nodeId: string): void {
  try {
    peerIdFromString(nodeId)
  } catch {
    throw new VaultError('BAD_INPUT', `not a node ID: ${JSON.stringify(nodeId.slice(0, 80))}`)
  }
}

function checkFrameSize (frame: FloodFrame): FloodFrame {
  if (Buffer.byteLength(JSON.stringify(frame)) > ANNOUNCE_MAX_FRAME_BYTES) {
    throw new VaultError('TOO_LARGE', `a flooded envelope must encode to at most ${ANNOUNCE_MAX_FRAME_BYTES} bytes`)
  }
  return frame
}

function toAnnouncement (envelope: AnnouncementEnvelope): Announcement {
  return { id: envelope.id, from: envelope.from, kind: envelope.kind, data: envelope.data, at: envelope.at }
}
