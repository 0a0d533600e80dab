// Delivers what the outbox holds: when a peer connects, and again with back-off while it stays
// connected but does not take them (its messenger not started yet, or not reading). Messages to
// one peer go out in the order they were sent.

import type { Logger } from 'pino'
import { Backoff } from '../net/index.ts'
import type { Network } from '../net/index.ts'
import type { MessageEnvelope } from '../protocols/index.ts'
import type { DeliveryResult, DirectMessages } from './direct-messages.ts'
import type { MessageStore } from './message-store.ts'

export interface OutboxOptions {
  network: Network
  log: Logger
  store: MessageStore
  direct: DirectMessages
  retryMaxMs: number
}

const BATCH = 32

export class Outbox {
  private readonly options: OutboxOptions
  private readonly flushing = new Set<string>()
  private readonly retries = new Map<string, { backoff: Backoff, timer?: NodeJS.Timeout }>()
  private sweepTimer: NodeJS.Timeout | undefined
  private running = false

  constructor (options: OutboxOptions) {
    this.options = options
  }

  start (): void {
    this.running = true
    // A safety net for whatever the event-driven retries missed.
    this.sweepTimer = setInterval(() => {
      for (const peer of this.options.store.pendingPeers()) this.peerConnected(peer)
    }, this.options.retryMaxMs)
    this.sweepTimer.unref()
    for (const peer of this.options.store.pendingPeers()) this.peerConnected(peer)
  }

  stop (): void {
    this.running = false
    clearInterval(this.sweepTimer)
    for (const retry of this.retries.values()) clearTimeout(retry.timer)
    this.retries.clear()
  }

  peerConnected (nodeId: string): void {
    if (this.running && this.options.network.isConnected(nodeId)) void this.flush(nodeId)
  }

  /** A first delivery attempt of a new message, not yet in the outbox. */
  async tryOnce (envelope: MessageEnvelope): Promise<DeliveryResult> {
    return await this.options.direct.deliver(envelope)
  }

  /** Keeps a message that could not be delivered, to retry when its peer (re)connects. */
  keep (envelope: MessageEnvelope): void {
    const dropped = this.options.store.enqueue(envelope.id, envelope.to)
    if (dropped > 0) this.options.log.warn({ dropped }, 'outbox full: dropped the oldest undelivered messages')
    if (this.options.network.isConnected(envelope.to)) this.scheduleRetry(envelope.to)
  }

  /** One delivery attempt of a message in the outbox; true if it left the outbox. */
  private async deliverKept (envelope: MessageEnvelope): Promise<boolean> {
    const result = await this.options.direct.deliver(envelope)
    if (result === 'failed') {
      this.scheduleRetry(envelope.to)
      return false
    }
    // Rejected means the peer will never take it (it judged it invalid): retrying cannot help.
    if (result === 'rejected') this.options.log.warn({ peer: envelope.to, id: envelope.id }, 'dropped a kept message the peer rejected')
    this.options.store.delivered(envelope.id)
    return true
  }

  private async flush (nodeId: string): Promise<void> {
    if (this.flushing.has(nodeId)) return
    this.flushing.add(nodeId)
    let delivered = 0
    try {
      for (;;) {
        const batch = this.options.store.pendingFor(nodeId, BATCH)
        if (batch.length === 0 || !this.running) break
        for (const envelope of batch) {
          if (!await this.deliverKept(envelope)) return
          delivered++
        }
      }
      this.retries.delete(nodeId)
    } finally {
      this.flushing.delete(nodeId)
      if (delivered > 0) this.options.log.info({ peer: nodeId, delivered }, 'delivered messages from the outbox')
    }
  }

  private scheduleRetry (nodeId: string): void {
    if (!this.running) return
    let retry = this.retries.get(nodeId)
    if (retry == null) {
      retry = { backoff: new Backoff({ initialMs: 1_000, maxMs: this.options.retryMaxMs }) }
      this.retries.set(nodeId, retry)
    }
    if (retry.timer != null) return
    const delayMs = retry.backoff.nextDelayMs()
    retry.backoff.failed()
    retry.timer = setTimeout(() => {
      retry.timer = undefined
      this.peerConnected(nodeId)
    }, delayMs)
    retry.timer.unref()
  }
}
