// A file removed before the disk was lost, its remove record on a holder away during a first
// (partial) recover, its manifest and add record still on a holder that missed the deletion: the
// first recover lists it (the history found says it exists). A second recover that finds the
// remove record must not keep it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { startCluster, putBytes, replaceDisk, waitForMesh } from '../helpers/cluster.ts'

test('a file whose remove record a first recover did not see is gone after a second one that sees it', async (t) => {
  const cluster = await startCluster(t, 4, { replicas: 3 })
  const [a, x, y, z] = cluster.nodes
  await putBytes(a, 'kept.bin', randomBytes(20_000))
  const gone = await putBytes(a, 'gone.bin', randomBytes(20_000))
  const journal = (kind: string, file: string): string => (a.vault.catalog.db.prepare('SELECT blob_id FROM journal WHERE kind = ? AND file_id = ?').get(kind, file) as { blob_id: string }).blob_id
  const goneBlobs = await Promise.all([gone.id, journal('add', gone.id), ...(await a.vault.open(gone.id)).manifest.chunks.map(c => c.id)].map(async id => ({ id, bytes: await a.vault.store.get(a.nodeId, id) })))
  await a.vault.remove('gone.bin')
  const removal = journal('remove', gone.id)
  const removalBytes = await a.vault.store.get(a.nodeId, removal)
  await putBytes(a, 'later.bin', randomBytes(20_000)) // a number after the remove record's
  // The disk is lost now: no repair or audit of the owner's may undo what follows (one that
  // copied the remove record back onto y or z made the first recover see it, 1 CI run in several).
  await a.stop()
  // The remove record on x alone; y missed the deletion (it keeps gone.bin's blobs and add record).
  for (const h of [y, z]) await h.vault.store.delete(a.nodeId, removal)
  await x.vault.store.put(a.nodeId, removal, removalBytes)
  for (const blob of goneBlobs) await y.vault.store.put(a.nodeId, blob.id, blob.bytes)
  await x.stop()

  const again = await replaceDisk(cluster, a, 'a-again')
  const first = await again.recover()
  assert.equal(first.unseen, 1, 'the remove record\'s number is seen missing')
  assert.equal(again.status().recoverPending, true)

  await cluster.add({}, x.paths.root)
  await waitForMesh(cluster.nodes.filter(n => n.networking !== undefined))
  const second = await again.recover()
  assert.equal(second.unseen, 0)
  assert.equal(again.status().recoverPending, false)
  assert.deepEqual(again.vault.list().map(f => f.name), ['kept.bin', 'later.bin'], 'the removed file stays removed')
})
