// Direct messages on /distri-vault/msg/1: one stream per message, one signed envelope in, one ack
// out. The receiver accepts a message only from its signer, addressed to itself; everything else
// is dropped and counted, and never reaches a subscriber.

import { peerIdFromString } from '@libp2p/peer-id'
import type { Logger } from 'pino'
import type { Network } from '../net/index.ts'
import { FrameStream, handleProtocol, MessageAck, MessageEnvelope, MSG_MAX_FRAME_BYTES, MSG_PROTOCOL, requestJson } from '../protocols/index.ts'
import { checkMessage, readInboundFrame } from './envelope-checks.ts'
import type { DeliveryQueues } from './delivery-queues.ts'
import type { MessengerStats } from './stats.ts'
import type { SenderRateLimiter } from './sender-limits.ts'

export interface DirectMessagesOptions {
  network: Network
  log: Logger
  queues: DeliveryQueues
  stats: MessengerStats
  timeoutMs: number
  /** Messages per sender: past its rate a message is refused with "rateLimited" (its sender keeps
   * it in the outbox and retries later). */
  rate: SenderRateLimiter
  /** A verified message for us; false if it is one we already have (a redelivery). */
  onMessage: (envelope: MessageEnvelope) => boolean
}

export type DeliveryResult = 'delivered' | 'rejected' | 'failed'

export class DirectMessages {
  private readonly options: DirectMessagesOptions

  constructor (options: DirectMessagesOptions) {
    this.options = options
  }

  async start (): Promise<void> {
    const { network, log, stats } = this.options
    await handleProtocol(network.libp2p, MSG_PROTOCOL, async (stream, connection) => {
      const frames = new FrameStream(stream, { maxFrameBytes: MSG_MAX_FRAME_BYTES })
      const signal = AbortSignal.timeout(this.options.timeoutMs)
      const sender = connection.remotePeer.toString()
      const envelope = await readInboundFrame(frames, MessageEnvelope, { signal, stats, log, peer: sender, what: 'a direct message' })
      if (envelope == null) return
      const checked = await checkMessage(envelope, { to: network.nodeId, from: sender })
      const verdict = checked === 'ok' && !this.options.rate.take(sender) ? 'rateLimited' : checked
      if (verdict === 'rateLimited') {
        stats.dropped.rateLimited++
        await frames.writeJson({ ok: false, id: envelope.id, error: verdict } satisfies MessageAck, { signal })
      } else if (verdict !== 'ok') {
        stats.dropped[verdict]++
        log.warn({ peer: sender, claimedFrom: envelope.from, id: envelope.id, verdict }, 'dropped a direct message')
        await frames.writeJson({ ok: false, id: envelope.id, error: verdict } satisfies MessageAck, { signal })
      } else {
        if (this.options.onMessage(envelope)) stats.received++
        await frames.writeJson({ ok: true, id: envelope.id } satisfies MessageAck, { signal })
      }
      await frames.close({ signal })
    }, { log, maxInboundStreams: 32, maxOutboundStreams: 32, inactivityTimeoutMs: this.options.timeoutMs })
  }

  async stop (): Promise<void> {
    await this.options.network.libp2p.unhandle(MSG_PROTOCOL).catch(() => {})
  }

  /** Hands one envelope to its addressee over an existing connection; never dials. */
  async deliver (envelope: MessageEnvelope): Promise<DeliveryResult> {
    const { network, queues, log } = this.options
    let result: DeliveryResult = 'failed'
    await queues.submit(envelope.to, async (signal) => {
      const connection = network.libp2p.getConnections(peerIdFromString(envelope.to)).find(c => c.status === 'open')
      if (connection == null) return false
      try {
        const ack = await requestJson(connection, MSG_PROTOCOL, envelope, MessageAck, { maxFrameBytes: MSG_MAX_FRAME_BYTES, timeoutMs: this.options.timeoutMs, signal })
        // Over our rate there: not a judgement of the message, so it stays in the outbox for later.
        result = ack.ok && ack.id === envelope.id ? 'delivered' : ack.error === 'rateLimited' ? 'failed' : 'rejected'
        if (result === 'rejected') log.warn({ peer: envelope.to, id: envelope.id, error: ack.error }, 'the peer rejected our message')
      } catch (err) {
        log.debug({ peer: envelope.to, id: envelope.id, err: (err as Error).message }, 'direct message not delivered')
      }
      return result === 'delivered'
    })
    return result
  }
}
