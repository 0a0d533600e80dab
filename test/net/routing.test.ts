// The full mesh as a Routing: the connected peers, ranked for a blob exactly as placement ranks them.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
// The modules under test, not net/index.ts: that would load libp2p's whole stack (~1 CPU-s) for a unit.
import { blobKey, nodeIdsOf } from '../../src/net/routing.ts'
import { FullMeshRouting } from '../../src/net/full-mesh-routing.ts'
import { placeReplicas } from '../../src/net/rendezvous.ts'

test('full-mesh routing ranks the connected peers by rendezvous hashing; every one may hold any owner\'s blobs', async () => {
  const ids = await Promise.all(Array.from({ length: 6 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()))
  let connected = ids.slice(0, 4)
  const routing = new FullMeshRouting(() => connected)
  const blob = createHash('sha256').update('a blob').digest('hex')
  assert.deepEqual(nodeIdsOf(await routing.closestPeers(blobKey(blob), 10)), placeReplicas(blob, connected, 10))
  assert.deepEqual(nodeIdsOf(await routing.closestPeers(blobKey(blob), 2)), placeReplicas(blob, connected, 2))
  assert.deepEqual(nodeIdsOf(routing.allPeers()), connected)
  assert.deepEqual(nodeIdsOf(await routing.holdersOf(ids[5])), connected)
  connected = [ids[1], ids[4], ids[5]]
  assert.deepEqual(nodeIdsOf(routing.allPeers()), connected, 'asked afresh each time')
  assert.deepEqual(nodeIdsOf(await routing.closestPeers(blobKey(blob), 3)), placeReplicas(blob, connected, 3))
})
