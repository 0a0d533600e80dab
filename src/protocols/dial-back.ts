// Wire format of the reachability check (/distri-vault/dial-back/1): a node asks a peer to open a
// new connection back to it on its own listen ports, at the IP the peer sees it come from. A node
// behind NAT without port forwarding is not reachable there; one on a LAN or a public address is.

import { z } from 'zod'

export const DIAL_BACK_MAX_PORTS = 4

/** Bounds of the dial-back deadline an asker may ask for (the answerer clamps what it is asked). */
export const DIAL_BACK_MIN_TIMEOUT_MS = 1_000
export const DIAL_BACK_MAX_TIMEOUT_MS = 60_000

export const DialBackRequest = z.object({
  ports: z.array(z.number().int().min(1).max(65_535)).min(1).max(DIAL_BACK_MAX_PORTS),
  /** How long the asker lets the dial take (clamped; absent: the answerer's own default). A peer
   * that cannot or will not try (asked again too soon) closes the stream without a reply. */
  timeoutMs: z.number().int().positive().max(3_600_000).optional()
})
export type DialBackRequest = z.infer<typeof DialBackRequest>

export const DialBackReply = z.object({
  /** The peer opened a connection back to us (the handshake proved it reached us, not another). */
  reachable: z.boolean()
})
export type DialBackReply = z.infer<typeof DialBackReply>
