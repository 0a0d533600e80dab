// /distri-vault/instance/1: each run of a node has a random instance ID, told to every peer on
// every connection. Two instances behind one node ID (the same recovery phrase started twice)
// are seen by a peer they both reach, which tells each of them (`conflict`).
import { z } from 'zod'

export const INSTANCE_MAX_ADDRS = 8

export const InstanceFrame = z.object({
  instance: z.string().regex(/^[0-9a-f]{32}$/),
  /** Set by a peer that sees other instances of the recipient's node ID: where they connect from. */
  conflict: z.object({ addresses: z.array(z.string().min(1).max(256)).max(INSTANCE_MAX_ADDRS) }).optional()
})

export type InstanceFrame = z.infer<typeof InstanceFrame>
