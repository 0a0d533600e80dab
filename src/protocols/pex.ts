// Wire format of peer exchange (/distri-vault/pex/1): each side sends one frame listing the peers
// it is connected to and their listen addresses, then reads the other's. Bounded in peers,
// addresses per peer and bytes per address.

import { z } from 'zod'

export const PEX_MAX_PEERS = 64
export const PEX_MAX_ADDRS_PER_PEER = 8

export const PexFrame = z.object({
  peers: z.array(z.object({
    id: z.string().min(1).max(128),
    addrs: z.array(z.string().min(1).max(256)).max(PEX_MAX_ADDRS_PER_PEER)
  })).max(PEX_MAX_PEERS)
})

export type PexFrame = z.infer<typeof PexFrame>
