// A manifest already on this disk that no peer online lists (its holders away) still names its
// chunks: a second recover (the first cut short, or a chunk lost here since) fetched the chunks other
// peers listed, found no manifest naming them among the listings, and took them for the old disk's
// garbage: not kept, counted unreferenced, buried once the recover completed, so the holder sweep
// deleted the last copies on the holders (the file, in the catalog, could no longer be read).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import { startCluster, putBytes, readBytes, replaceDisk } from '../helpers/cluster.ts'
import type { VaultNode } from '../../src/index.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

/** A file put with --replicas 2 whose manifest has its one copy on one holder, its chunks and add record theirs on others. */
async function splitLayout (a: VaultNode, holders: VaultNode[]): Promise<{ bytes: Buffer, id: string, name: string, chunk: string, chunks: string[], away: VaultNode, keeper: VaultNode }> {
  for (let i = 0; i < 40; i++) {
    const bytes = randomBytes(2 * 1024 * 1024)
    const put = await putBytes(a, `f${i}.bin`, bytes, 2)
    const chunks = (await a.vault.open(put.id)).manifest.chunks.map(c => c.id)
    const manifestHolders = await Promise.all(holders.map(async h => await h.vault.store.has(a.nodeId, put.id)))
    if (manifestHolders.filter(Boolean).length !== 1) continue
    const away = holders[manifestHolders.indexOf(true)]
    // Every chunk elsewhere, so the file can be read with that holder away.
    const keepers = await Promise.all(chunks.map(async chunk => (await Promise.all(holders.map(async h => await h.vault.store.has(a.nodeId, chunk) ? h : undefined))).filter(h => h !== undefined)))
    // And its add record too, so the history found names the file.
    const record = (a.vault.catalog.db.prepare("SELECT blob_id FROM journal WHERE kind = 'add' AND file_id = ?").get(put.id) as { blob_id: string }).blob_id
    const recorded = (await Promise.all(holders.map(async h => h !== away && await h.vault.store.has(a.nodeId, record)))).some(Boolean)
    if (recorded && keepers.every(k => k.length === 1 && k[0] !== away)) return { bytes, id: put.id, name: `f${i}.bin`, chunk: chunks[0], chunks, away, keeper: keepers[0][0] }
  }
  assert.fail('a file whose manifest has its copy on one holder and its chunks and record on others')
}

test('a second recover with the manifest\'s holders away keeps the chunks the manifest on this disk names', async (t) => {
  const cluster = await startCluster(t, 4, { replicas: 2 })
  const [a, ...holders] = cluster.nodes
  const { bytes, name, chunk, away, keeper } = await splitLayout(a, holders)

  const again = await replaceDisk(cluster, a, 'a-again')
  const first = await again.recover()
  assert.equal(again.status().recoverPending, false, JSON.stringify(first))
  assert.equal(sha(await readBytes(again, name)), sha(bytes))
  // That chunk lost here since (a recover killed before its chunks came, a disk error): the manifest is here.
  await again.vault.store.delete(again.nodeId, chunk)
  await away.stop()

  const second = await again.recover()
  assert.equal(second.unreferenced, 0, 'the manifest on this disk names it')
  assert.equal(await again.vault.store.has(again.nodeId, chunk), true, 'fetched again')
  // Whatever the sweep does now, the holder's copy stays.
  await again.networking!.replication.sweepHolders()
  await new Promise(resolve => setTimeout(resolve, 1000))
  assert.equal(await keeper.vault.store.has(again.nodeId, chunk), true, 'the holder keeps its copy')
  assert.equal(sha(await readBytes(again, name)), sha(bytes))
})

test('a recover killed after its first pass, run again with the manifest\'s holder away: the chunks come back', async (t) => {
  const cluster = await startCluster(t, 4, { replicas: 2 })
  const [a, ...holders] = cluster.nodes
  const { bytes, id, name, chunk, chunks, away, keeper } = await splitLayout(a, holders)
  const manifest = await a.vault.store.get(a.nodeId, id)

  const again = await replaceDisk(cluster, a, 'a-again')
  // What a recover killed (kill -9) after the manifest came leaves: the manifest here, no catalog row.
  await again.vault.store.put(again.nodeId, id, manifest)
  await away.stop()
  await again.recover()
  // (Files of the layout's earlier tries, their manifests on the holder away, are missing: their
  // chunks are rightly unreferenced.)
  for (const c of chunks) assert.equal(await again.vault.store.has(again.nodeId, c), true, `${c.slice(0, 12)}, named by the manifest on this disk, is fetched`)
  assert.ok(again.vault.catalog.holders.of(chunk).includes(keeper.nodeId), 'its holder is known')
  assert.equal(sha(await readBytes(again, name)), sha(bytes))
})
