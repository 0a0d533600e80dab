// Routing for a network where every node is connected to every other: the connected peers are all
// there is, ranked for a blob by rendezvous hashing (net/rendezvous.ts), exactly as placement
// always was. Any connected peer may hold any owner's blobs.
import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import { placeReplicas } from './rendezvous.ts'
import type { Routing } from './routing.ts'

export class FullMeshRouting implements Routing {
  private readonly connected: () => string[]
  /** Parsed peer IDs by node ID (a peer ID is parsed once, not on every question). */
  private readonly ids = new Map<string, PeerId>()

  /** `connected`: the node IDs of the peers connected now. */
  constructor (connected: () => string[]) {
    this.connected = connected
  }

  async closestPeers (key: Uint8Array, n: number): Promise<PeerId[]> {
    return placeReplicas(Buffer.from(key).toString('hex'), this.connectedIds(), n).map(id => this.peerId(id))
  }

  async holdersOf (): Promise<PeerId[]> {
    return this.allPeers()
  }

  allPeers (): PeerId[] {
    return this.connectedIds().map(id => this.peerId(id))
  }

  private connectedIds (): string[] {
    const ids = [...new Set(this.connected())]
    if (this.ids.size > 4 * ids.length + 64) for (const id of this.ids.keys()) if (!ids.includes(id)) this.ids.delete(id)
    return ids
  }

  private peerId (nodeId: string): PeerId {
    let id = this.ids.get(nodeId)
    if (id === undefined) {
      id = peerIdFromString(nodeId)
      this.ids.set(nodeId, id)
    }
    return id
  }
}
