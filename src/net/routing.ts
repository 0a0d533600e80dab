// Which peers a node talks to about a blob or an owner: the one seam between "who is out there" and
// replication. Today every node is connected to every other (FullMeshRouting); a DHT implements the
// same interface without replication, repair, recover or audits changing.
import type { PeerId } from '@libp2p/interface'

export interface Routing {
  /** up to n peers best placed to hold `key` (a blob ID's bytes), best first */
  closestPeers (key: Uint8Array, n: number, options?: { signal?: AbortSignal }): Promise<PeerId[]>
  /** peers that hold (or may hold) blobs of this owner's folder */
  holdersOf (owner: string, options?: { signal?: AbortSignal }): Promise<PeerId[]>
  /** every peer this node can reach now (today: the connected peers) */
  allPeers (): PeerId[]
}

/** A blob ID (hex) as the key `closestPeers` takes. */
export function blobKey (blobId: string): Uint8Array {
  return Buffer.from(blobId, 'hex')
}

/** Node IDs of peers, as the rest of the code names them. */
export function nodeIdsOf (peers: PeerId[]): string[] {
  return peers.map(peer => peer.toString())
}
