// Broadcast over gossipsub (issue 16): messages to all and announcements on two topics. Each node
// receives an envelope from a few mesh peers instead of from every peer, and forwards it only
// after the validator accepted it: the envelope must parse, be fresh, carry its sender's valid
// signature and come from the gossipsub author who signed the gossip message. A rejected envelope
// is not forwarded and costs its sender score (overlay-services.ts), so a forger is graylisted.

import type { GossipSub, Message, TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import { VaultError } from '../errors.ts'
import {
  ANNOUNCE_MAX_FRAME_BYTES, FloodFrame, GOSSIP_ANNOUNCEMENTS_TOPIC, GOSSIP_MESSAGES_TOPIC, GOSSIP_TOPICS, parseJsonFrame
} from '../protocols/index.ts'
import type { Verdict } from './envelope-checks.ts'
import { checkBroadcast, deliverBroadcast, envelopeOf, rateOf, seenKey, type BroadcastOptions } from './broadcast.ts'

export type GossipOptions = BroadcastOptions

const utf8 = new TextEncoder()

/**
 * gossipsub's `TopicValidatorResult` values, without importing gossipsub at run time: a node
 * without --dht must not load it (net/overlay-options.ts says why);
 * test/net/overlay-constants.test.ts pins each value to the enum.
 */
export const VALIDATOR_RESULT = {
  Accept: 'accept' as TopicValidatorResult.Accept,
  Ignore: 'ignore' as TopicValidatorResult.Ignore,
  Reject: 'reject' as TopicValidatorResult.Reject
} as const

export class GossipBroadcast {
  private readonly options: GossipOptions
  /** Frames that passed validation, by gossipsub message, waiting for the 'message' event. */
  private readonly accepted = new WeakMap<Message, FloodFrame>()
  private pubsub: GossipSub | undefined

  constructor (options: GossipOptions) {
    this.options = options
  }

  async start (): Promise<void> {
    const pubsub = this.options.network.libp2p.services.pubsub
    if (pubsub == null) throw new VaultError('NOT_RUNNING', 'gossipsub is not enabled on this node (start with --dht)')
    this.pubsub = pubsub
    for (const topic of GOSSIP_TOPICS) {
      pubsub.topicValidators.set(topic, async (peer, message) => await this.validate(peer, message))
      pubsub.subscribe(topic)
    }
    pubsub.addEventListener('message', this.onGossip)
  }

  async stop (): Promise<void> {
    const pubsub = this.pubsub
    if (pubsub == null) return
    this.pubsub = undefined
    pubsub.removeEventListener('message', this.onGossip)
    for (const topic of GOSSIP_TOPICS) {
      pubsub.topicValidators.delete(topic)
      try { pubsub.unsubscribe(topic) } catch {}
    }
  }

  /** Publishes a new envelope of ours; resolves with the number of peers it was sent to directly
   * (gossipsub spreads it from there). */
  async publish (frame: FloodFrame): Promise<number> {
    const pubsub = this.pubsub
    if (pubsub == null) throw new VaultError('NOT_RUNNING', 'the gossip broadcast is not started')
    const envelope = envelopeOf(frame)
    this.options.seen.add(seenKey(envelope))
    const topic = frame.type === 'msg' ? GOSSIP_MESSAGES_TOPIC : GOSSIP_ANNOUNCEMENTS_TOPIC
    const result = await pubsub.publish(topic, utf8.encode(JSON.stringify({ ...frame, hops: 0 })))
    return result.recipients.length
  }

  /** Runs before gossipsub delivers or forwards: Reject penalises `peer`, Ignore drops quietly. */
  private async validate (peer: PeerId, message: Message): Promise<TopicValidatorResult> {
    const { stats, log } = this.options
    const verdict = await this.check(message)
    if (verdict === 'ok') return VALIDATOR_RESULT.Accept
    if (verdict === 'duplicate' || verdict === 'rateLimited') {
      if (verdict === 'rateLimited') stats.dropped.rateLimited++
      return VALIDATOR_RESULT.Ignore
    }
    stats.dropped[verdict]++
    log.warn({ peer: peer.toString(), topic: message.topic, verdict }, 'rejected a gossiped envelope')
    return VALIDATOR_RESULT.Reject
  }

  private async check (message: Message): Promise<Verdict | 'duplicate'> {
    if (message.data.byteLength > ANNOUNCE_MAX_FRAME_BYTES) return 'oversized'
    let frame: FloodFrame
    try {
      frame = parseJsonFrame(FloodFrame, message.data)
    } catch {
      return 'malformed'
    }
    const envelope = envelopeOf(frame)
    const expectedTopic = frame.type === 'msg' ? GOSSIP_MESSAGES_TOPIC : GOSSIP_ANNOUNCEMENTS_TOPIC
    if (message.topic !== expectedTopic) return 'malformed'
    // The gossip author (gossipsub's StrictSign) must be the envelope's sender: nobody re-injects
    // someone else's envelope as a new gossip message.
    if (message.type !== 'signed' || message.from.toString() !== envelope.from) return 'forged'
    const verdict = await checkBroadcast(frame, this.options.maxAgeMs)
    if (verdict !== 'ok') return verdict
    if (this.options.seen.has(seenKey(envelope))) return 'duplicate'
    if (!rateOf(this.options, frame).take(envelope.from)) return 'rateLimited'
    this.options.seen.add(seenKey(envelope))
    this.accepted.set(message, frame)
    return 'ok'
  }

  private readonly onGossip = (evt: CustomEvent<Message>): void => {
    const frame = this.accepted.get(evt.detail)
    if (frame == null) return
    this.accepted.delete(evt.detail)
    deliverBroadcast(this.options, frame)
  }
}
