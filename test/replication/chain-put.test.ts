// Chained replication through whole nodes (test/helpers/cluster.ts): a put's copies travel owner →
// holder → holder, so the owner's uplink carries about one copy of the file, not one per holder;
// a node that does not speak chain/1 (an older version) still gets its copies directly.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { TrafficMeter } from '../../src/net/index.ts'
import type { VaultNode } from '../../src/index.ts'
import { putBytes, startCluster } from '../helpers/cluster.ts'
import { waitForMesh } from '../helpers/wait.ts'

async function blobsOf (node: VaultNode, owner: string): Promise<Set<string>> {
  const ids = new Set<string>()
  for await (const id of node.vault.store.list(owner)) ids.add(id)
  return ids
}

/** Each holder keeps blobs of the owner's only, at least the file's worth (the journal's small
 * blobs go to the default number of holders, so not every holder has every one of them). */
async function assertEveryHolderHasTheFile (owner: VaultNode, holders: VaultNode[], size: number): Promise<void> {
  const own = await blobsOf(owner, owner.nodeId)
  for (const holder of holders) {
    const held = await blobsOf(holder, owner.nodeId)
    for (const id of held) assert.ok(own.has(id), 'a holder keeps only blobs the owner has')
    assert.ok((holder.vault.store.usage()[owner.nodeId] ?? 0) >= size, 'a holder keeps at least the file\'s bytes')
  }
}

function sentBy (meter: TrafficMeter): number {
  let sent = 0
  for (const counts of meter.peers().values()) sent += counts.sent
  return sent
}

test('a 4-copy put on 4 nodes: the owner sends about one copy of the file, and each holder keeps every blob', async (t) => {
  const cluster = await startCluster(t, 4)
  const [owner, ...holders] = cluster.nodes
  const meter = new TrafficMeter(owner.services.trafficSources)
  const data = randomBytes(6 * 1024 * 1024)
  const before = sentBy(meter)
  const stored = await putBytes(owner, 'chained.bin', data, 4)
  const sent = sentBy(meter) - before
  assert.equal(stored.replicas, 4)
  // Fan-out sends 3 copies (≥ 3.0 × the file); a chain sends one, plus framing and the manifest's.
  assert.ok(sent < 1.3 * data.byteLength, `the owner sent ${(sent / data.byteLength).toFixed(2)} × the file`)
  await assertEveryHolderHasTheFile(owner, holders, data.byteLength)
  const chained = owner.networking!.chainSender.stats()
  assert.ok(chained.chained >= 3 * 6, `copies made through chains: ${chained.chained}`)
  // A hop that misses its deadline falls back to the owner sending that copy (seen once in the
  // whole suite on 2 cores): allowed once; the bytes sent above still show the chain carried it.
  assert.ok(chained.fallbacks <= 1, `copies the owner had to send itself: ${chained.fallbacks}`)
})

test('a node without chain/1 (an older version) gets its copies directly; the others still chain', async (t) => {
  const cluster = await startCluster(t, 3)
  const old = await cluster.add({ chain: false })
  await waitForMesh(cluster.nodes)
  const [owner] = cluster.nodes
  const stored = await putBytes(owner, 'mixed.bin', randomBytes(3 * 1024 * 1024), 'all')
  assert.equal(stored.replicas, 4)
  await assertEveryHolderHasTheFile(owner, cluster.nodes.slice(1), 3 * 1024 * 1024)
  assert.equal(old.networking!.chainServer.stats().stored, 0, 'the old node took no chained copy')
  assert.ok(owner.networking!.chainSender.stats().chained > 0, 'the two new holders were chained')
})
