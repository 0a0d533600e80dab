// A catalog rebuilt at start (catalog.db missing) after an unclean stop, with a file it cannot
// insert (its manifest damaged on this disk): the crash clean-up took every blob of that file for an
// orphan, deleted it here, buried it, and the holder sweep then deleted the good copies on every
// holder. The file was lost although only one blob of it was damaged, and only here.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { startCluster, putBytes, readBytes, waitForMesh, type Cluster } from '../helpers/cluster.ts'
import type { VaultNode } from '../../src/index.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

/** Flips the last byte of the blob at `path` (its header still opens), loses the catalog and leaves
 * the run marker of a node that did not stop cleanly. */
async function rotAndCrash (path: string, paths: { catalog: string, runMarker: string }): Promise<void> {
  const damaged = await readFile(path)
  damaged[damaged.length - 1] ^= 0xff
  await writeFile(path, damaged)
  for (const suffix of ['', '-wal', '-shm']) await rm(`${paths.catalog}${suffix}`, { force: true })
  await writeFile(paths.runMarker, `${process.pid}\n`)
}

/** Three nodes; a puts kept.bin and hurt.bin with 3 copies each; hurt.bin's blobs (manifest first). */
async function twoFiles (t: { after: (fn: () => Promise<void>) => void }): Promise<{ cluster: Cluster, a: VaultNode, b: VaultNode, c: VaultNode, bytes: Buffer, put: Awaited<ReturnType<typeof putBytes>>, blobs: string[] }> {
  const cluster = await startCluster(t, 3)
  const [a, b, c] = cluster.nodes
  const bytes = randomBytes(600_000)
  await putBytes(a, 'kept.bin', randomBytes(100_000), 3)
  const put = await putBytes(a, 'hurt.bin', bytes, 3)
  const blobs = [put.id, ...(await a.vault.open(put.id)).manifest.chunks.map(ch => ch.id)]
  return { cluster, a, b, c, bytes, put, blobs }
}

test('a rebuild that cannot insert a file (its manifest damaged here) after an unclean stop keeps that file\'s blobs, here and on the holders', async (t) => {
  const { cluster, a, b, c, bytes, put, blobs } = await twoFiles(t)
  const { paths, nodeId } = a
  await a.stop()

  // Bit rot in the manifest's body (its header still opens), the catalog lost, and no clean stop.
  await rotAndCrash(a.vault.store.pathOf(nodeId, put.id), paths)

  const again = await cluster.add({}, paths.root)
  await waitForMesh([again, b, c])
  assert.deepEqual(again.vault.list().map(f => f.name), ['kept.bin'], 'the damaged manifest keeps the file out of the rebuilt catalog')
  await again.networking!.replication.sweepHolders()
  for (const holder of [b, c]) {
    for (const id of blobs) assert.equal(await holder.vault.store.has(nodeId, id), true, `${holder.nodeId.slice(-6)} keeps ${id.slice(0, 8)}`)
  }
  // The way back: scrub heals the manifest from a holder, recover lists the file again.
  await again.scrub()
  await again.recover()
  assert.deepEqual(again.vault.list().map(f => f.name), ['hurt.bin', 'kept.bin'])
  assert.equal(sha(await readBytes(again, 'hurt.bin')), sha(bytes))
})

// The same with the file's add record damaged here instead: the history found here does not name
// the file at all, so the rebuild skips nothing, and the crash clean-up took its blobs for orphans.
test('a rebuild after an unclean stop with a damaged journal record here keeps the blobs the history may name', async (t) => {
  const { cluster, a, b, c, bytes, put, blobs } = await twoFiles(t)
  const record = (a.vault.catalog.db.prepare("SELECT blob_id FROM journal WHERE kind = 'add' AND file_id = ?").get(put.id) as { blob_id: string }).blob_id
  const { paths, nodeId } = a
  await a.stop()

  await rotAndCrash(a.vault.store.pathOf(nodeId, record), paths)

  const again = await cluster.add({}, paths.root)
  await waitForMesh([again, b, c])
  await again.networking!.replication.sweepHolders()
  for (const id of blobs) assert.equal(await again.vault.store.has(nodeId, id), true, `kept here: ${id.slice(0, 8)}`)
  for (const holder of [b, c]) {
    for (const id of blobs) assert.equal(await holder.vault.store.has(nodeId, id), true, `${holder.nodeId.slice(-6)} keeps ${id.slice(0, 8)}`)
  }
  // A recover before the scrub settles nothing (the damaged record may name a file); after it, the file is back.
  await again.recover()
  await again.scrub()
  await again.recover()
  assert.deepEqual(again.vault.list().map(f => f.name), ['hurt.bin', 'kept.bin'])
  assert.equal(sha(await readBytes(again, 'hurt.bin')), sha(bytes))
})
