// Flooding on /distri-vault/announce/1: messages to all and announcements reach every node, also
// those not connected to the sender. Each node verifies an envelope, delivers it once (seen-set
// by sender and ID), and forwards it to its other peers while its hop count allows. Verification
// comes before the seen-set, so a forged copy cannot claim an ID and censor the genuine one; the
// sender in the key keeps another member's own envelope under that ID from doing so.

import { peerIdFromString } from '@libp2p/peer-id'
import {
  ANNOUNCE_MAX_FRAME_BYTES, ANNOUNCE_PROTOCOL, FloodAck, FloodFrame, FrameStream, handleProtocol, MAX_FLOOD_HOPS, requestJson
} from '../protocols/index.ts'
import type { DeliveryQueues } from './delivery-queues.ts'
import { readInboundFrame, type Verdict } from './envelope-checks.ts'
import { checkBroadcast, deliverBroadcast, envelopeOf, rateOf, seenKey, type BroadcastOptions } from './broadcast.ts'

export interface FloodOptions extends BroadcastOptions {
  queues: DeliveryQueues
  timeoutMs: number
}

export class Flood {
  private readonly options: FloodOptions

  constructor (options: FloodOptions) {
    this.options = options
  }

  async start (): Promise<void> {
    const { network, log, stats } = this.options
    await handleProtocol(network.libp2p, ANNOUNCE_PROTOCOL, async (stream, connection) => {
      const frames = new FrameStream(stream, { maxFrameBytes: ANNOUNCE_MAX_FRAME_BYTES })
      const signal = AbortSignal.timeout(this.options.timeoutMs)
      const relay = connection.remotePeer.toString()
      const frame = await readInboundFrame(frames, FloodFrame, { signal, stats, log, peer: relay, what: 'a flooded envelope' })
      if (frame == null) return
      const verdict = await this.receive(frame, relay)
      await frames.writeJson({ ok: verdict === 'ok' } satisfies FloodAck, { signal })
      await frames.close({ signal })
    }, { log, maxInboundStreams: 32, maxOutboundStreams: 32, inactivityTimeoutMs: this.options.timeoutMs })
  }

  async stop (): Promise<void> {
    await this.options.network.libp2p.unhandle(ANNOUNCE_PROTOCOL).catch(() => {})
  }

  /** Sends a new envelope of ours to every connected peer; resolves with how many took it. */
  async publish (frame: FloodFrame): Promise<number> {
    this.options.seen.add(seenKey(envelopeOf(frame)))
    const results = await Promise.all(this.options.network.peers().map(async peer => await this.send(peer.nodeId, frame)))
    return results.filter(Boolean).length
  }

  private async receive (frame: FloodFrame, relay: string): Promise<Verdict> {
    const { stats, log, seen } = this.options
    const envelope = envelopeOf(frame)
    const verdict = await checkBroadcast(frame, this.options.maxAgeMs)
    if (verdict !== 'ok') {
      stats.dropped[verdict]++
      log.warn({ peer: relay, claimedFrom: envelope.from, id: envelope.id, type: frame.type, verdict }, 'dropped a flooded envelope')
      return verdict
    }
    if (seen.has(seenKey(envelope))) return 'ok'
    // After the signature check (a forgery cannot spend someone else's tokens) and the seen-set
    // (copies by other paths cost nothing). Not marked seen: a copy after a refill may pass.
    if (!rateOf(this.options, frame).take(envelope.from)) {
      stats.dropped.rateLimited++
      log.debug({ peer: relay, from: envelope.from, id: envelope.id, type: frame.type }, 'dropped a flooded envelope over its sender\'s rate')
      return 'rateLimited'
    }
    seen.add(seenKey(envelope))
    deliverBroadcast(this.options, frame)
    if (frame.hops < MAX_FLOOD_HOPS) this.forward({ ...frame, hops: frame.hops + 1 }, [relay, envelope.from])
    return 'ok'
  }

  private forward (frame: FloodFrame, except: string[]): void {
    for (const peer of this.options.network.peers()) {
      if (!except.includes(peer.nodeId)) void this.send(peer.nodeId, frame)
    }
  }

  private async send (nodeId: string, frame: FloodFrame): Promise<boolean> {
    const { network, queues, log } = this.options
    // One lane per original sender: a flood waits behind itself, not in front of everyone else.
    return await queues.submit(nodeId, async (signal) => {
      const connection = network.libp2p.getConnections(peerIdFromString(nodeId)).find(c => c.status === 'open')
      if (connection == null) return false
      try {
        const ack = await requestJson(connection, ANNOUNCE_PROTOCOL, frame, FloodAck, { maxFrameBytes: ANNOUNCE_MAX_FRAME_BYTES, timeoutMs: this.options.timeoutMs, signal })
        return ack.ok
      } catch (err) {
        log.debug({ peer: nodeId, id: envelopeOf(frame).id, err: (err as Error).message }, 'flooded envelope not delivered')
        return false
      }
    }, envelopeOf(frame).from)
  }
}
