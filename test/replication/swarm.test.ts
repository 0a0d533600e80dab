// Swarm get: a read spreads its chunk requests over every holder of the file, a stalled holder is
// hedged and then avoided, a lying one demoted; recover pulls from several holders too.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import { startCluster, putBytes, readBytes, replaceDisk, waitFor, waitForMesh, type Cluster } from '../helpers/cluster.ts'
import type { NodeTuning, VaultNode } from '../../src/index.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
const served = (n: VaultNode): number => n.networking!.blockServer.servedBlobs

/** Counts, by holder, the GETs `reader` sends (answered or not). */
function spyOnGets (reader: VaultNode): Map<string, number> {
  const asked = new Map<string, number>()
  const client = reader.networking!.client
  const getBlob = client.getBlob.bind(client)
  client.getBlob = async (peer, owner, id, signal) => {
    asked.set(peer, (asked.get(peer) ?? 0) + 1)
    return await getBlob(peer, owner, id, signal)
  }
  return asked
}

interface Setup { cluster: Cluster, owner: VaultNode, holders: VaultNode[], reader: VaultNode, bytes: Buffer, capability: string, chunks: number }

/**
 * Owner a puts a file with 3 copies on b and c (b and c started with `faults`), shares it, and
 * (unless `ownerStays`) goes away; a fourth node d, holding nothing, joins to read it.
 */
async function threeHolders (t: { after: (fn: () => Promise<void>) => void }, mib: number, faults: [NodeTuning?, NodeTuning?], ownerStays: boolean): Promise<Setup> {
  const cluster = await startCluster(t, 1)
  const owner = cluster.nodes[0]
  const b = await cluster.add({}, undefined, faults[0])
  const c = await cluster.add({}, undefined, faults[1])
  await waitForMesh([owner, b, c])
  const bytes = randomBytes(mib * 1024 * 1024)
  const put = await putBytes(owner, 'film.bin', bytes, 3)
  assert.equal(put.replicas, 3, 'every chunk on a, b and c')
  const capability = await owner.vault.share('film.bin')
  const chunks = (await owner.health('film.bin')).blobs.length
  if (!ownerStays) {
    await owner.stop()
    await waitFor('b and c to see a gone', () => !b.networking!.network.isConnected(owner.nodeId) && !c.networking!.network.isConnected(owner.nodeId))
  }
  const reader = await cluster.add()
  await waitForMesh([reader, b, c, ...(ownerStays ? [owner] : [])])
  return { cluster, owner, holders: [b, c], reader, bytes, capability, chunks }
}

test('a get by capability spreads its chunks over all 3 holders, roughly evenly', async (t) => {
  // 24 MiB (~26 blobs): at 12 (14 blobs) a fair spread fell under 15 % for one holder in CI (2 of 14).
  const { owner, holders, reader, bytes, capability, chunks } = await threeHolders(t, 24, [undefined, undefined], true)
  const all = [owner, ...holders]
  const before = all.map(served)
  assert.equal(sha(await readBytes(reader, capability)), sha(bytes))
  const counts = all.map((n, i) => served(n) - before[i])
  t.diagnostic(`${chunks} blobs served by a, b, c: ${counts.join(', ')}`)
  const total = counts.reduce((sum, n) => sum + n, 0)
  assert.ok(total >= chunks, `every blob was served (${total} of ${chunks})`)
  for (const [i, n] of counts.entries()) assert.ok(n >= total * 0.15, `holder ${'abc'[i]} served ${n} of ${total} blobs: at least 15 % each`)
})

// Sizes: about one blob per MiB. The spread tests need a dozen blobs (15 % of them is 2 per holder);
// the stalled and lying holders' tests two dozen, so that the bound on asks of the bad holder (8, the
// reader's first window) stays well under the half it would get without hedging or demotion.
test('a stalled holder does not stall the get: it is hedged, then passed over', async (t) => {
  // b answers each GET only after 60 s (the reader's block timeout is 5 s): a get waiting on it
  // per chunk would take minutes.
  const { holders: [b, c], reader, bytes, capability, chunks } = await threeHolders(t, 24, [{ serveFault: { delayMs: 60_000 } }, undefined], false)
  const asked = spyOnGets(reader)
  const started = Date.now()
  assert.equal(sha(await readBytes(reader, capability)), sha(bytes))
  const elapsedMs = Date.now() - started
  t.diagnostic(`${chunks} blobs in ${elapsedMs} ms; asked b ${asked.get(b.nodeId) ?? 0}, c ${asked.get(c.nodeId) ?? 0} times`)
  assert.ok((asked.get(b.nodeId) ?? 0) <= 8, `the stalled holder was asked ${asked.get(b.nodeId)} times for ${chunks} blobs`)
  assert.ok(elapsedMs < 30_000, `the get took ${elapsedMs} ms`)
  const stat = reader.networking!.replicator.holderStats().find(s => s.peer === b.nodeId)
  assert.equal(stat?.served ?? 0, 0)
})

test('a holder returning corrupt bytes is demoted; the file\'s bytes are still equal', async (t) => {
  const { holders: [b, c], reader, bytes, capability, chunks } = await threeHolders(t, 24, [undefined, { serveFault: { corrupt: true } }], false)
  const asked = spyOnGets(reader)
  assert.equal(sha(await readBytes(reader, capability)), sha(bytes))
  t.diagnostic(`${chunks} blobs; asked b ${asked.get(b.nodeId) ?? 0}, the liar c ${asked.get(c.nodeId) ?? 0} times`)
  assert.ok((asked.get(c.nodeId) ?? 0) <= 8, `the liar was asked ${asked.get(c.nodeId)} times for ${chunks} blobs`)
  const stats = reader.networking!.replicator.holderStats()
  assert.equal(stats.find(s => s.peer === c.nodeId)?.demoted, true, 'the liar is demoted')
  assert.equal(stats.find(s => s.peer === c.nodeId)?.served, 0)
  assert.ok((stats.find(s => s.peer === b.nodeId)?.served ?? 0) >= chunks, 'b served every blob')
})

test('recover after disk loss pulls from several holders at once', async (t) => {
  const cluster = await startCluster(t, 3)
  const [a, b, c] = cluster.nodes
  const bytes = randomBytes(16 * 1024 * 1024)
  await putBytes(a, 'big.bin', bytes, 3)
  const again = await replaceDisk(cluster, a, 'a-again')
  const before = [b, c].map(served)
  const result = await again.recover()
  assert.equal(result.failed, 0)
  const counts = [b, c].map((n, i) => served(n) - before[i])
  t.diagnostic(`${result.fetched} blobs recovered; served by b, c: ${counts.join(', ')}`)
  for (const [i, n] of counts.entries()) assert.ok(n >= result.fetched * 0.15, `holder ${'bc'[i]} served ${n} of ${result.fetched} blobs`)
  assert.equal(sha(await readBytes(again, 'big.bin')), sha(bytes))
})
