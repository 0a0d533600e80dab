// What flooding (flood.ts) and gossip (gossip.ts) share: the options every broadcaster takes, the
// checks of a broadcast envelope, the sender's rate, and delivery to the messenger. Only how an
// envelope travels differs between the two.
import type { Logger } from 'pino'
import type { Network } from '../net/index.ts'
import type { AnnouncementEnvelope, FloodFrame, MessageEnvelope } from '../protocols/index.ts'
import { checkAnnouncement, checkMessage, isFresh, type Verdict } from './envelope-checks.ts'
import type { SeenSet } from './seen-set.ts'
import type { MessengerStats } from './stats.ts'
import type { SenderRateLimiter } from './sender-limits.ts'

export interface BroadcastOptions {
  network: Network
  log: Logger
  stats: MessengerStats
  seen: SeenSet
  /** Envelopes sent longer ago than this (or this far in the future) are stale. */
  maxAgeMs: number
  /** Per-sender rates of messages to all, and of announcements. */
  messageRate: SenderRateLimiter
  announcementRate: SenderRateLimiter
  onMessage: (envelope: MessageEnvelope) => boolean
  onAnnouncement: (envelope: AnnouncementEnvelope) => void
}

export function envelopeOf (frame: FloodFrame): MessageEnvelope | AnnouncementEnvelope {
  return frame.type === 'msg' ? frame.message : frame.announcement
}

/**
 * What the seen-set knows an envelope by: its sender and its ID. The ID alone is the sender's
 * choice, so another member could sign an envelope of its own under an ID it saw and, arriving
 * first, make the genuine one look like a copy (neither delivered nor forwarded).
 */
export function seenKey (envelope: MessageEnvelope | AnnouncementEnvelope): string {
  return `${envelope.from}/${envelope.id}`
}

/** Fresh, then well formed and signed by its sender (the signature last: it costs the most). */
export async function checkBroadcast (frame: FloodFrame, maxAgeMs: number): Promise<Verdict> {
  if (!isFresh(envelopeOf(frame).at, maxAgeMs)) return 'stale'
  return frame.type === 'msg' ? await checkMessage(frame.message, { to: '*' }) : await checkAnnouncement(frame.announcement)
}

/** The sender's bucket for this kind of envelope. */
export function rateOf (options: BroadcastOptions, frame: FloodFrame): SenderRateLimiter {
  return frame.type === 'msg' ? options.messageRate : options.announcementRate
}

/** Hands an accepted envelope to the messenger and counts it. */
export function deliverBroadcast (options: BroadcastOptions, frame: FloodFrame): void {
  if (frame.type === 'msg') {
    if (options.onMessage(frame.message)) options.stats.received++
  } else {
    options.stats.announcements++
    options.onAnnouncement(frame.announcement)
  }
}
