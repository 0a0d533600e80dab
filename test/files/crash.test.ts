// After a crash mid-put: the unfinished put is dropped, orphaned blobs are removed, and every
// complete file is intact.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { stat } from 'node:fs/promises'
import { sealChunk, sealManifest, sha256Hex } from '../../src/crypto/index.ts'
import { BlobStore } from '../../src/store/index.ts'
import { Vault } from '../../src/files/index.ts'
import { inPieces, openTestVault, readAll } from './fixture.ts'
import { waitFor } from '../helpers/wait.ts'

const MiB = 1024 * 1024

test('recovering from a crashed put drops the half file and orphans and keeps complete files', async (t) => {
  const tv = await openTestVault(t)
  const { identity } = tv
  const done = randomBytes(2 * MiB)
  await tv.vault.put(inPieces(done), { name: 'done.bin' })
  const doneFile = await tv.vault.open('done.bin')
  const doneBlobs = await tv.blobFiles()

  // A put killed half-way: a pending row with two chunks, one already on disk and one shared with done.bin.
  const row = tv.catalog.beginFile()
  const halfChunk = await sealChunk(identity.vaultKey, randomBytes(300_000))
  tv.catalog.addChunk(row, 0, halfChunk.id, halfChunk.size)
  tv.catalog.addChunk(row, 1, doneFile.manifest.chunks[0].id, doneFile.manifest.chunks[0].size)
  await tv.store.put(identity.nodeId, halfChunk.id, halfChunk.sealed, true)
  // An orphan chunk and a manifest written just before the crash, referenced by no row.
  const orphan = randomBytes(5000)
  await tv.store.put(identity.nodeId, sha256Hex(orphan), orphan)
  const lateManifest = sealManifest(identity.vaultKey, { v: 1, name: 'never-completed', size: 0, mtime: '', ctime: '', chunks: [] })
  await tv.store.put(identity.nodeId, lateManifest.id, lateManifest.sealed, true)
  assert.deepEqual(tv.vault.list().map(f => f.name), ['done.bin'], 'the half file is never listed')

  // The node restarts: a fresh catalog handle on the same db, then recovery before serving.
  await tv.reopenCatalog()
  const result = await tv.vault.recoverFromCrash()
  // The half put's own chunk goes with its pending row; the scan then finds the two orphans.
  assert.deepEqual(result, { pendingDropped: 1, orphansRemoved: 2 })
  assert.equal(tv.catalog.countPending(), 0)
  assert.deepEqual(await tv.blobFiles(), doneBlobs)
  assert.ok((await readAll(tv.vault, 'done.bin')).equals(done))
  assert.deepEqual(tv.store.usage(), { [identity.nodeId]: await totalSize([...doneBlobs, ...await tv.journalFiles()]) })

  // Running recovery again finds nothing to do, and the same put now succeeds.
  assert.deepEqual(await tv.vault.recoverFromCrash(), { pendingDropped: 0, orphansRemoved: 0 })
  const again = randomBytes(300_000)
  await tv.vault.put(inPieces(again), { name: 'retried.bin' })
  assert.ok((await readAll(tv.vault, 'retried.bin')).equals(again))
})

async function totalSize (files: string[]): Promise<number> {
  let total = 0
  for (const f of files) total += (await stat(f)).size
  return total
}

test('a put that dies mid-stream is never listed, and after recovery the same put succeeds', async (t) => {
  const tv = await openTestVault(t)
  const earlier = randomBytes(MiB)
  await tv.vault.put(inPieces(earlier), { name: 'earlier.bin' })
  const earlierBlobs = await tv.blobFiles()

  // The process "dies" while the upload waits for more bytes: the source never resumes.
  const data = randomBytes(4 * MiB)
  let reached!: () => void
  const stalled = new Promise<void>(resolve => { reached = resolve })
  async function * dying (): AsyncGenerator<Uint8Array> {
    yield * inPieces(data.subarray(0, 3 * MiB))
    reached()
    await new Promise(() => {}) // never settles, like a killed process
  }
  void tv.vault.put(dying(), { name: 'half.bin' }).catch(() => {})
  await stalled
  // Sealing runs on worker threads: wait until the half put's chunks are claimed and on disk.
  const claimed = (): number => (tv.catalog.db.prepare('SELECT count(DISTINCT chunk_id) AS n FROM file_chunks').get() as { n: number }).n
  await waitFor('the half put\'s chunks to reach the disk', async () => claimed() > earlierBlobs.length - 1 && (await tv.blobFiles()).length === claimed() + 1, { intervalMs: 10 })
  assert.ok((await tv.blobFiles()).length > earlierBlobs.length, 'the half put wrote chunks')
  assert.deepEqual(tv.vault.list().map(f => f.name), ['earlier.bin'], 'a half file is never listed')

  // Restart: fresh store and catalog handles on the same data dir, recovery before serving.
  await tv.reopenCatalog()
  const restarted = new BlobStore(tv.store.root)
  await restarted.start()
  const vault = new Vault({ nodeId: tv.identity.nodeId, vaultKey: tv.identity.vaultKey, store: restarted, catalog: tv.catalog })
  const result = await vault.recoverFromCrash()
  assert.equal(result.pendingDropped, 1)
  assert.deepEqual(await tv.blobFiles(), earlierBlobs)
  assert.deepEqual(vault.list().map(f => f.name), ['earlier.bin'])
  assert.ok((await readAll(vault, 'earlier.bin')).equals(earlier))
  await vault.put(inPieces(data), { name: 'half.bin', expectedSize: data.length })
  assert.ok((await readAll(vault, 'half.bin')).equals(data))
})
