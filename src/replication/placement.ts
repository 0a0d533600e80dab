// Where a chunk's copies go: rendezvous hashing, which lives with the routing (net/rendezvous.ts)
// since the full-mesh routing ranks peers with it. Re-exported for replication's callers.
export { placeReplicas, placementWeight } from '../net/index.ts'
