// What a received envelope must pass before anyone sees it. Each failure has a name, counted in
// the messenger's stats: "forged" (bad signature, or not from who it claims), "oversized" (text
// over 64 KiB), "malformed" (valid frame, impossible content), "stale" (flooded too long ago),
// "rateLimited" (valid, but its sender is over its rate: see sender-limits.ts).

import type { Logger } from 'pino'
import type { z } from 'zod'
import type { AnnouncementEnvelope, FrameStream, MessageEnvelope } from '../protocols/index.ts'
import type { MessengerStats } from './stats.ts'
import { MAX_TEXT_BYTES } from '../protocols/index.ts'
import { announcementSigningBytes, messageSigningBytes, verifySignature } from './signing.ts'

export type DropReason = 'forged' | 'oversized' | 'malformed' | 'stale' | 'rateLimited'
export type Verdict = 'ok' | DropReason

export interface MessageExpectations {
  /** Our node ID: a direct message must be addressed to it, a flooded one to '*'. */
  to: string
  /** The peer that handed it over, when it must be the sender itself (direct messages). */
  from?: string
}

export async function checkMessage (envelope: MessageEnvelope, expect: MessageExpectations): Promise<Verdict> {
  if (Buffer.byteLength(envelope.text, 'utf8') > MAX_TEXT_BYTES) return 'oversized'
  if (envelope.to !== expect.to) return 'malformed'
  if (expect.from != null && envelope.from !== expect.from) return 'forged'
  const valid = await verifySignature(envelope.from, messageSigningBytes(envelope), envelope.sig)
  return valid ? 'ok' : 'forged'
}

export async function checkAnnouncement (envelope: AnnouncementEnvelope): Promise<Verdict> {
  const valid = await verifySignature(envelope.from, announcementSigningBytes(envelope), envelope.sig)
  return valid ? 'ok' : 'forged'
}

/** A flooded envelope is live news only: too old (or too far in the future) means a replay or a
 * broken clock, and it is neither delivered nor forwarded. */
export function isFresh (at: string, maxAgeMs: number, now = Date.now()): boolean {
  const sentAt = Date.parse(at)
  return Number.isFinite(sentAt) && Math.abs(now - sentAt) <= maxAgeMs
}

/** Names a failure to read a frame: too big, or not the schema; other failures (a peer that went
 * away mid-frame, a timeout) are not the content's fault and are not counted. */
export function frameFailureVerdict (err: unknown): DropReason | undefined {
  const code = (err as { code?: string }).code
  if (code === 'TOO_LARGE') return 'oversized'
  if (code === 'BAD_FRAME') return 'malformed'
  return undefined
}

export interface InboundFrameContext { signal: AbortSignal, stats: MessengerStats, log: Logger, peer: string, what: string }

/** Reads the one frame of an inbound stream; a frame too big or not the schema is counted as
 * dropped and logged before the error goes on to abort the stream. */
export async function readInboundFrame<S extends z.ZodType> (frames: FrameStream, schema: S, ctx: InboundFrameContext): Promise<z.infer<S> | null> {
  try {
    return await frames.readJson(schema, { signal: ctx.signal })
  } catch (err) {
    const verdict = frameFailureVerdict(err)
    if (verdict != null) {
      ctx.stats.dropped[verdict]++
      ctx.log.warn({ peer: ctx.peer, verdict, err: (err as Error).message }, `dropped ${ctx.what}`)
    }
    throw err
  }
}
