// messaging/: direct messages and messages to all, announcements flooded to every node; signed by
// the sender's node key, verified on receipt, kept in catalog.db, pushed live to subscribers.

import { Messenger, type MessengerOptions } from './messenger.ts'

export { Messenger, ANNOUNCEMENT_KINDS, DEFAULT_MESSENGER_TIMING } from './messenger.ts'
export type { MessengerOptions, MessengerTiming, Announcement, SendResult, BroadcastResult, AnnounceResult } from './messenger.ts'
export type { Message } from './message-store.ts'
export type { MessengerStats } from './stats.ts'
export { DEFAULT_SENDER_RATE, SenderRateLimiter, type SenderRateOptions } from './sender-limits.ts'

export function createMessenger (options: MessengerOptions): Messenger {
  return new Messenger(options)
}
// The node key's signing helpers, for other subsystems that sign with it (replication's chain grants).
export { signBytes, verifySignature } from './signing.ts'
