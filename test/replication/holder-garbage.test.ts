// Holders never keep an owner's garbage forever: deletions a holder missed (it hung) are retried
// until it acknowledges them, and orphans of a killed put are swept off the holders.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type { Stream } from '@libp2p/interface'
import { startCluster, putBytes } from '../helpers/cluster.ts'
import { waitFor } from '../helpers/cli.ts'
import { sealChunk, sealManifest, sha256Hex } from '../../src/crypto/index.ts'
import { BLOCK_PROTOCOL } from '../../src/replication/index.ts'
import type { VaultNode } from '../../src/index.ts'
import { Vault } from '../../src/files/index.ts'

async function blobsOf (owner: VaultNode, holder: VaultNode, ids: string[]): Promise<boolean[]> {
  return await Promise.all(ids.map(async id => await holder.vault.store.has(owner.nodeId, id)))
}

/** The holder's block protocol stops answering (streams are accepted, never served), as a hung process's would. */
async function hang (holder: VaultNode): Promise<() => Promise<void>> {
  const { blockServer, network } = holder.networking!
  const held: Stream[] = []
  await blockServer.stop()
  await network.libp2p.handle(BLOCK_PROTOCOL, (stream) => { held.push(stream) }, { maxInboundStreams: 64 })
  return async () => {
    await network.libp2p.unhandle(BLOCK_PROTOCOL)
    for (const stream of held) stream.abort(new Error('resumed'))
    await blockServer.start()
  }
}

test('an rm while a holder hangs reaches it once it answers again, though it never disconnected', async (t) => {
  const cluster = await startCluster(t, 3)
  const [a, b, c] = cluster.nodes
  const put = await putBytes(a, 'doomed.bin', randomBytes(600_000), 3)
  const file = await a.vault.open(put.id)
  const ids = [put.id, ...file.manifest.chunks.map(ch => ch.id)]
  assert.deepEqual(await blobsOf(a, c, ids), ids.map(() => true))

  const resume = await hang(c)
  await a.vault.remove('doomed.bin')
  assert.deepEqual(await blobsOf(a, b, ids), ids.map(() => false), 'the answering holder dropped them at once')
  assert.ok(a.networking!.network.isConnected(c.nodeId), 'the hung holder still looks connected')
  assert.deepEqual(await blobsOf(a, c, ids), ids.map(() => true))

  await resume()
  await waitFor('the hung holder to drop the deleted blobs', async () => (await blobsOf(a, c, ids)).every(held => !held), { timeoutMs: 30_000 })
})

test('orphans of a killed put are swept off the holders; live files and blobs the owner never knew stay', async (t) => {
  const cluster = await startCluster(t, 3)
  const [a, b, c] = cluster.nodes
  const live = await putBytes(a, 'live.bin', randomBytes(800_000), 3)
  const liveIds = [live.id, ...(await a.vault.open(live.id)).manifest.chunks.map(ch => ch.id)]

  // A put killed midway: its chunk and manifest were claimed and reached the holders, which the
  // owner had not recorded yet when it died.
  const row = a.vault.catalog.beginFile()
  const plain = randomBytes(300_000)
  const chunk = await sealChunk(a.identity.vaultKey, Buffer.from(plain))
  const manifest = sealManifest(a.identity.vaultKey, { v: 1, name: 'killed.bin', size: plain.length, mtime: '', ctime: '', chunks: [{ id: chunk.id, key: chunk.key, size: plain.length }] })
  a.vault.catalog.addChunk(row, 0, chunk.id, plain.length)
  a.vault.catalog.claimManifest(row, manifest.id)
  for (const [id, bytes] of [[chunk.id, chunk.sealed], [manifest.id, manifest.sealed]] as const) {
    await a.vault.store.put(a.nodeId, id, bytes)
    for (const holder of [b, c]) await a.networking!.client.putBlob(holder.nodeId, a.nodeId, id, bytes)
  }
  // A blob of a's folder that a never made (nothing says it is garbage): it must stay.
  const stranger = randomBytes(5000)
  await a.networking!.client.putBlob(b.nodeId, a.nodeId, sha256Hex(stranger), stranger)

  // The restart's crash clean-up runs before the network is up (a vault built without one): no
  // holder hears of the orphans.
  const offline = new Vault({ nodeId: a.nodeId, vaultKey: a.identity.vaultKey, store: a.vault.store, catalog: a.vault.catalog, defaultReplicas: a.vault.defaultReplicas })
  await offline.recoverFromCrash()
  const orphans = [chunk.id, manifest.id]
  assert.deepEqual([...await blobsOf(a, b, orphans), ...await blobsOf(a, c, orphans)], [true, true, true, true], 'the holders still keep the orphans')

  const swept = await a.networking!.replication.sweepHolders()
  assert.equal(swept.deleted, 4)
  assert.deepEqual([...await blobsOf(a, b, orphans), ...await blobsOf(a, c, orphans)], [false, false, false, false], 'the orphans are gone from the holders\' disks')
  assert.deepEqual([...await blobsOf(a, b, liveIds), ...await blobsOf(a, c, liveIds)], [...liveIds, ...liveIds].map(() => true), 'every blob of the live file is still there')
  assert.equal(await b.vault.store.has(a.nodeId, sha256Hex(stranger)), true)
})
