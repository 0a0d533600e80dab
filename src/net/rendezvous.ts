// Where a chunk's copies go: rendezvous (highest-random-weight) hashing of the chunk ID over the
// candidate nodes. Each node's weight for a chunk depends only on the pair, so a node joining or
// leaving moves only the chunks it wins or held, and every node computes the same order.
import { sha256Hex } from '../crypto/index.ts'

/** The weight of `nodeId` for `chunkId`: SHA-256 of the two IDs concatenated, hex (compares like the number). */
export function placementWeight (chunkId: string, nodeId: string): string {
  // Chunk IDs are fixed-length hex, so plain concatenation is unambiguous.
  return sha256Hex(chunkId + nodeId)
}

/**
 * The `count` nodes that should hold `chunkId`, best first. Duplicates among the candidates are
 * ignored; a count above the number of candidates returns them all, in weight order.
 */
export function placeReplicas (chunkId: string, candidateNodeIds: Iterable<string>, count: number): string[] {
  const limit = Math.max(0, Math.floor(count))
  if (limit === 0) return []
  const weighted = [...new Set(candidateNodeIds)].map(nodeId => ({ nodeId, weight: placementWeight(chunkId, nodeId) }))
  // Ties need a 256-bit hash collision; the node ID tie-break only keeps the order total.
  weighted.sort((a, b) => compare(b.weight, a.weight) || compare(a.nodeId, b.nodeId))
  return weighted.slice(0, limit).map(w => w.nodeId)
}

function compare (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
