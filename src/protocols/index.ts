// Wire protocols of distri-vault: protocol IDs, size limits and the shared framing over libp2p
// streams. Every frame is length-prefixed and size-bounded; every JSON frame is schema-validated.

export { FrameStream, parseJsonFrame, compactPieces } from './framing.ts'
export type { FrameStreamOptions, FrameIoOptions } from './framing.ts'
export { handleProtocol, timeoutSignal } from './handler.ts'
export { ByteBudget } from './byte-budget.ts'
export type { ByteBudgetOptions, ByteReservation } from './byte-budget.ts'
export type { ProtocolHandler, ProtocolHandlerOptions } from './handler.ts'
export { exchange, requestJson } from './request.ts'
export type { ExchangeOptions, ExchangePhase, RequestOptions } from './request.ts'
export { PexFrame, PEX_MAX_PEERS, PEX_MAX_ADDRS_PER_PEER } from './pex.ts'
export { InstanceFrame, INSTANCE_MAX_ADDRS } from './instance.ts'
export { DialBackRequest, DialBackReply, DIAL_BACK_MAX_PORTS, DIAL_BACK_MAX_TIMEOUT_MS, DIAL_BACK_MIN_TIMEOUT_MS } from './dial-back.ts'
export { GOSSIP_MESSAGES_TOPIC, GOSSIP_ANNOUNCEMENTS_TOPIC, GOSSIP_TOPICS } from './gossip-topics.ts'
export { MessageEnvelope, MessageAck, AnnouncementEnvelope, FloodFrame, FloodAck, MAX_TEXT_BYTES, MAX_FLOOD_HOPS } from './messages.ts'

export const PEX_PROTOCOL = '/distri-vault/pex/1'
export const MSG_PROTOCOL = '/distri-vault/msg/1'
export const ANNOUNCE_PROTOCOL = '/distri-vault/announce/1'
export const INSTANCE_PROTOCOL = '/distri-vault/instance/1'
/** Reachability check: "dial me back" (src/net/dial-back.ts). */
export const DIAL_BACK_PROTOCOL = '/distri-vault/dial-back/1'
export const DIAL_BACK_MAX_FRAME_BYTES = 1024
/** An instance frame: an ID and a few addresses. */
export const INSTANCE_MAX_FRAME_BYTES = 4 * 1024

/** Peer-exchange frames: a bounded list of peers and their listen addresses. */
export const PEX_MAX_FRAME_BYTES = 64 * 1024
/** A direct message frame: 64 KiB of text plus its envelope, with room to spare. */
export const MSG_MAX_FRAME_BYTES = 128 * 1024
/** An announcement frame (a message to all travels as one). */
export const ANNOUNCE_MAX_FRAME_BYTES = 160 * 1024
