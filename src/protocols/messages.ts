// Wire format of messages: a direct message (/distri-vault/msg/1, answered by an ack) and the
// flooded envelopes of /distri-vault/announce/1 (a message to all, or an announcement). Text size
// is not capped here on purpose: the receiver counts a too-long text as "oversized", apart from
// frames that are simply malformed; the frame limit still bounds every frame.

import { z } from 'zod'

/** Longest message text, in UTF-8 bytes. */
export const MAX_TEXT_BYTES = 64 * 1024
/** A flooded envelope is forwarded at most this many times. */
export const MAX_FLOOD_HOPS = 16

const MessageId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/)
const NodeId = z.string().min(1).max(128)
const Timestamp = z.iso.datetime({ offset: false })
const Signature = z.string().regex(/^[A-Za-z0-9+/]{1,200}={0,2}$/)

export const MessageEnvelope = z.object({
  id: MessageId,
  from: NodeId,
  to: z.union([NodeId, z.literal('*')]),
  text: z.string(),
  at: Timestamp,
  sig: Signature
})
export type MessageEnvelope = z.infer<typeof MessageEnvelope>

export const MessageAck = z.object({
  ok: z.boolean(),
  id: z.string().max(64),
  error: z.string().max(200).optional()
})
export type MessageAck = z.infer<typeof MessageAck>

export const AnnouncementEnvelope = z.object({
  id: MessageId,
  from: NodeId,
  kind: z.string().regex(/^[a-z0-9][a-z0-9._:-]{0,63}$/),
  data: z.record(z.string(), z.unknown()),
  at: Timestamp,
  sig: Signature
})
export type AnnouncementEnvelope = z.infer<typeof AnnouncementEnvelope>

/** What travels on the announce protocol: the signed envelope plus a hop count (not signed, as
 * each forwarder raises it). */
export const FloodFrame = z.discriminatedUnion('type', [
  z.object({ type: z.literal('msg'), hops: z.number().int().min(0).max(MAX_FLOOD_HOPS), message: MessageEnvelope }),
  z.object({ type: z.literal('announce'), hops: z.number().int().min(0).max(MAX_FLOOD_HOPS), announcement: AnnouncementEnvelope })
])
export type FloodFrame = z.infer<typeof FloodFrame>

export const FloodAck = z.object({ ok: z.boolean() })
export type FloodAck = z.infer<typeof FloodAck>
